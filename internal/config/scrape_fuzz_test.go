package config

import (
	"io"
	"log/slog"
	"regexp"
	"strings"
	"testing"

	promconfig "github.com/prometheus/prometheus/config"
)

// scrapeOnly are the scrape_configs values liftpush refuses on purpose
// where Prometheus 3.16 takes them, matched by the start of liftpush's
// error line after `scrape_configs[i] (job "x"): ` or `parsing YAML:
// scrape_configs (job "x"): `.
var scrapeOnly = []*regexp.Regexp{
	// A scheme Prometheus takes and fails to scrape.
	regexp.MustCompile(`^scheme: ".*" is not supported`),
	// A job with nothing to scrape, or a file job shaped like another.
	regexp.MustCompile(`^static_configs: missing`),
	regexp.MustCompile(`^static_configs\[\d+\]\.targets: empty`),
	regexp.MustCompile(`^scheme: file reads one local file`),
	regexp.MustCompile(`^metrics_path: (with scheme file|".*" must start with /)`),
	// Keys liftpush decodes and refuses by name (refused()).
	regexp.MustCompile(`^scrape_failure_log_file`),
	// Discovery that is not linked.
	regexp.MustCompile(`^[a-z]+_sd_configs: this service discovery is not linked`),
	// Prometheus reports one protocol error; liftpush names each entry.
	regexp.MustCompile(`^scrape_protocols\[\d+\]: `),
	// Files the config names are read by check-config; Prometheus reads
	// them when it scrapes.
	regexp.MustCompile(`^[a-z0-9_.]*_file: ".*" `),
	// Duplicate job names: Prometheus refuses them too, worded otherwise.
	regexp.MustCompile(`job_name: ".*" is already used`),
}

// FuzzScrapeConfigLikePrometheus decodes a scrape_configs section with
// liftpush (Load, then Validate) and with Prometheus 3.16 (config.Load):
// whatever Prometheus refuses, liftpush refuses; whatever it accepts,
// liftpush accepts or refuses with a documented reason (scrapeOnly).
func FuzzScrapeConfigLikePrometheus(f *testing.F) {
	addSections(f, "testdata/scrape-*.yml", "scrape_configs:")
	for _, s := range []string{
		"- job_name: pods\n  kubernetes_sd_configs: [{role: pod, namespaces: {names: [a], own_namespace: true}, selectors: [{role: pod, label: 'app=x'}], attach_metadata: {node: true}}]\n  relabel_configs: [{action: labelmap, regex: __meta_kubernetes_pod_label_(.+)}]",
		"- job_name: f\n  file_sd_configs: [{files: [/etc/t/*.json], refresh_interval: 1m}]\n  sample_limit: 10\n  label_limit: 3\n  target_limit: 2\n  body_size_limit: 1MB\n  keep_dropped_targets: 5",
		"- job_name: h\n  http_sd_configs: [{url: http://sd/targets, refresh_interval: 30s}]\n  scrape_interval: 15s\n  scrape_timeout: 20s",
		"- job_name: d\n  dns_sd_configs: [{names: [_x._tcp.example.com]}]\n  scrape_protocols: [PrometheusProto]\n  fallback_scrape_protocol: PrometheusText0.0.4",
		"- job_name: d\n  dns_sd_configs: [{names: [a.example.com], type: A}]",
		"- job_name: c\n  consul_sd_configs: [{server: c:8500}]",
		"- job_name: e\n  ec2_sd_configs: [{region: eu-west-1}]",
		"- job_name: bb\n  metrics_path: /probe\n  params: {module: [http_2xx]}\n  static_configs: [{targets: [https://example.com]}]\n  relabel_configs: [{source_labels: [__address__], target_label: __param_target}, {target_label: __address__, replacement: bb:9115}]",
		"- job_name: x\n  static_configs: [{targets: [http://a/b]}]",
		"- job_name: x\n  scrape_native_histograms: true\n  always_scrape_classic_histograms: true\n  convert_classic_histograms_to_nhcb: true\n  static_configs: [{targets: [a:1]}]",
		"- job_name: x\n  enable_compression: false\n  enable_http2: false\n  follow_redirects: false\n  honor_labels: true\n  track_timestamps_staleness: true\n  static_configs: [{targets: [a:1]}]",
		"- job_name: x\n  metric_name_validation_scheme: legacy\n  metric_name_escaping_scheme: dots\n  static_configs: [{targets: [a:1]}]",
		"- job_name: x\n  metric_name_validation_scheme: legacy\n  metric_name_escaping_scheme: allow-utf-8\n  static_configs: [{targets: [a:1]}]",
		"- job_name: x\n  scrape_protocols: [OpenMetricsText2.0.0, PrometheusProto, PrometheusProto]\n  static_configs: [{targets: [a:1]}]",
		"- job_name: x\n  relabel_configs: [{action: hashmod, source_labels: [__address__], modulus: 4, target_label: __tmp_hash}, {action: keep, source_labels: [__tmp_hash], regex: '1'}]\n  static_configs: [{targets: [a:1]}]",
		"- job_name: x\n  relabel_configs: [{action: keepequal, source_labels: [a], target_label: b}, {action: lowercase, source_labels: [c], target_label: d}]\n  static_configs: [{targets: [a:1]}]",
		"- job_name: x\n  extra_scrape_metrics: true\n  scrape_failure_log_file: /tmp/f\n  static_configs: [{targets: [a:1]}]",
		"- job_name: x\n  native_histogram_bucket_limit: 10\n  native_histogram_min_bucket_factor: 1.1\n  static_configs: [{targets: [a:1]}]",
		"- job_name: x\n  scheme: ftp\n  static_configs: [{targets: [a:1]}]",
		"- job_name: x",
		"- job_name: ''",
		"- job_name: x\n  static_configs: [{targets: [a:1]}]\n- job_name: x\n  static_configs: [{targets: [b:1]}]",
	} {
		f.Add(s)
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	prefix := regexp.MustCompile(`^(parsing YAML: )?scrape_configs(\[\d+\])?( \(job ".*?"\))?: `)
	f.Fuzz(func(t *testing.T, s string) {
		doc := "scrape_configs:\n" + indent(s)
		cfg, ours := Load([]byte(doc))
		if ours == nil {
			ours = cfg.Validate()
		}
		_, theirs := promconfig.Load(doc, logger)
		switch {
		case ours == nil && theirs != nil:
			t.Errorf("liftpush accepts what Prometheus refuses (%v):\n%s", theirs, doc)
		case ours != nil && theirs == nil:
			for _, line := range strings.Split(ours.Error(), "\n") {
				line = prefix.ReplaceAllString(line, "")
				ok := false
				for _, d := range scrapeOnly {
					ok = ok || d.MatchString(line)
				}
				if !ok {
					t.Errorf("liftpush refuses what Prometheus accepts, not a documented difference: %s\n%s", line, doc)
				}
			}
		}
	})
}
