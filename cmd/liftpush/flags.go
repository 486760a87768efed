package main

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/alecthomas/kingpin/v2"
	"github.com/prometheus/common/promslog"

	"github.com/liftpush/liftpush/internal/config"
)

// flags are shared by the subcommands that load a configuration.
type flags struct {
	configFile string
	over       config.Overrides
	shard      shardFlags
	// logLevel is --log.level's, which runtime.log_level overrides.
	logLevel *promslog.Level
}

// addConfigFlags registers --config.file and the override flags on cmd.
func (f *flags) addConfigFlags(cmd *kingpin.CmdClause) {
	cmd.Flag("config.file", "liftpush configuration file. Optional when flags give a source and a destination.").
		Short('c').PlaceHolder("liftpush.yml").StringVar(&f.configFile)
	cmd.Flag("remote-write.url", "Remote-write endpoint to push to, e.g. http://prometheus:9090/api/v1/write. Repeatable.").
		PlaceHolder("URL").StringsVar(&f.over.RemoteWriteURLs)
	cmd.Flag("pushgateway.url", "Pushgateway to push to, e.g. http://pushgateway:9091. Repeatable.").
		PlaceHolder("URL").StringsVar(&f.over.PushgatewayURLs)
	cmd.Flag("pushgateway.job", "job label of the Pushgateway groups.").PlaceHolder("JOB").StringVar(&f.over.PushgatewayJob)
	cmd.Flag("scrape.url", "Endpoint or exposition file to collect: http(s)://host:port/path or file:///path. Repeatable.").
		PlaceHolder("URL").StringsVar(&f.over.ScrapeURLs)
	cmd.Flag("external-label", "Label added to every pushed series, name=value. Repeatable.").
		PlaceHolder("NAME=VALUE").StringsVar(&f.over.ExternalLabels)
	cmd.Flag("spacelift.endpoint", "Spacelift account URL, e.g. https://acme.app.spacelift.io. Also read from $SPACELIFT_PROMEX_API_ENDPOINT.").
		Envar("LIFTPUSH_SPACELIFT_ENDPOINT").PlaceHolder("URL").StringVar(&f.over.SpaceliftEndpoint)
	cmd.Flag("spacelift.api-key-id", "Spacelift API key ID. Also read from $SPACELIFT_PROMEX_API_KEY_ID.").
		Envar("LIFTPUSH_SPACELIFT_API_KEY_ID").PlaceHolder("ID").StringVar(&f.over.SpaceliftAPIKeyID)
	cmd.Flag("spacelift.api-key-secret-file", "File holding the Spacelift API key secret, re-read at every token exchange. Also read from $SPACELIFT_PROMEX_API_KEY_SECRET_FILE. The secret itself is only accepted from a file or $LIFTPUSH_SPACELIFT_API_KEY_SECRET, never as a flag.").
		Envar("LIFTPUSH_SPACELIFT_API_KEY_SECRET_FILE").PlaceHolder("FILE").StringVar(&f.over.SpaceliftSecretFile)
	cmd.Flag("kubernetes.enabled", "Collect Kubernetes resources (default: Deployments).").BoolVar(&f.over.KubernetesEnabled)
	cmd.Flag("kubernetes.kubeconfig", "kubeconfig file; empty: in-cluster, else $KUBECONFIG, else ~/.kube/config.").
		PlaceHolder("FILE").StringVar(&f.over.Kubeconfig)
	cmd.Flag("spool.dir", "Directory of the durable remote-write queue (spool.dir): what is collected is written there before it is sent, and kept until the receiver takes it. Empty: no spool.").
		PlaceHolder("DIR").StringVar(&f.over.SpoolDir)
	cmd.Flag("kubernetes.namespace", "Namespace to collect from. Repeatable; none: all namespaces.").
		PlaceHolder("NAMESPACE").StringsVar(&f.over.KubernetesNamespaces)
	f.shard.add(cmd)
}

// promexEnv maps Spacelift's exporter variables to liftpush's, so that the
// Kubernetes Secret from its guide works unchanged.
var promexEnv = []struct {
	name string
	dst  func(*config.Overrides) *string
}{
	{"SPACELIFT_PROMEX_API_ENDPOINT", func(o *config.Overrides) *string { return &o.SpaceliftEndpoint }},
	{"SPACELIFT_PROMEX_API_KEY_ID", func(o *config.Overrides) *string { return &o.SpaceliftAPIKeyID }},
	{"SPACELIFT_PROMEX_API_KEY_SECRET_FILE", func(o *config.Overrides) *string { return &o.SpaceliftSecretFile }},
	{"SPACELIFT_PROMEX_CA_CERT_PATH", func(o *config.Overrides) *string { return &o.SpaceliftCAFile }},
}

// load reads the file (if any), applies flags and environment, and
// validates. Any error is a usage error (exit 2).
func (f *flags) load(forRun bool) (*config.Config, error) {
	cfg := config.Default()
	if f.configFile != "" {
		var err error
		if cfg, err = config.LoadFile(f.configFile); err != nil {
			return nil, usageError{err}
		}
	}
	over := f.over
	// Secrets come from the environment only, never from argv.
	if v := os.Getenv("LIFTPUSH_SPACELIFT_API_KEY_SECRET"); v != "" {
		over.SpaceliftSecret = v
	} else if v := os.Getenv("SPACELIFT_PROMEX_API_KEY_SECRET"); v != "" {
		over.SpaceliftSecret = v
	}
	for _, e := range promexEnv {
		if dst := e.dst(&over); *dst == "" {
			*dst = os.Getenv(e.name)
		}
	}
	if err := over.Apply(cfg); err != nil {
		return nil, usageError{err}
	}
	if err := f.shard.apply(cfg); err != nil {
		return nil, usageError{err}
	}
	validate := cfg.Validate
	if forRun {
		validate = cfg.ValidateRun
	}
	if err := validate(); err != nil {
		where := "configuration"
		if f.configFile != "" {
			where = f.configFile
		}
		return nil, usageError{fmt.Errorf("invalid %s:\n  %w", where, indent(err))}
	}
	return cfg, nil
}

// indent puts each joined error on its own indented line.
func indent(err error) error {
	return errors.New(strings.ReplaceAll(err.Error(), "\n", "\n  "))
}
