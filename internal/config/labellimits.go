package config

import (
	"fmt"
	"maps"
	"slices"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/relabel"

	"github.com/liftpush/liftpush/internal/metric"
)

// validateLabelLimits refuses every config value that becomes a label name
// or value and is longer than metric.MaxLabelBytes: the labels library
// would panic on it at the first cycle, after check-config said the file
// was fine (issue 22). Each error names the key.
func (c *Config) validateLabelLimits() []error {
	var errs []error
	check := func(key, name, value string) {
		if err := metric.CheckLabel(name, value); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", key, err))
		}
	}
	checkMap := func(key string, m map[string]string) {
		for _, name := range slices.Sorted(maps.Keys(m)) {
			check(key, name, m[name])
		}
	}
	checkRelabel := func(key string, rcs []*relabel.Config) {
		for i, rc := range rcs {
			if rc == nil {
				continue // Validate says so
			}
			// A replacement without references is the value as written.
			check(fmt.Sprintf("%s[%d]", key, i), rc.TargetLabel, rc.Replacement)
		}
	}

	check("global.job", model.JobLabel, c.Global.Job)
	checkMap("global.external_labels", c.Global.ExternalLabels)
	for i, s := range c.ScrapeConfigs {
		if s == nil {
			continue
		}
		key := fmt.Sprintf("scrape_configs[%d]", i)
		check(key+".job_name", model.JobLabel, s.JobName)
		for j, sc := range s.StaticTargets() {
			for k, target := range sc.Targets {
				check(fmt.Sprintf("%s.static_configs[%d].targets[%d]", key, j, k), model.InstanceLabel, string(target[model.AddressLabel]))
			}
			for _, name := range slices.Sorted(maps.Keys(sc.Labels)) {
				check(fmt.Sprintf("%s.static_configs[%d].labels", key, j), string(name), string(sc.Labels[name]))
			}
		}
		checkRelabel(key+".relabel_configs", s.RelabelConfigs)
		checkRelabel(key+".metric_relabel_configs", s.MetricRelabelConfigs)
	}
	for i, rw := range c.RemoteWrite {
		if rw == nil {
			continue
		}
		key := fmt.Sprintf("remote_write[%d]", i)
		for _, h := range slices.Sorted(maps.Keys(rw.HeadersFromLabels)) {
			check(key+".headers_from_labels", rw.HeadersFromLabels[h], "")
		}
		checkRelabel(key+".write_relabel_configs", rw.WriteRelabelConfigs)
	}
	for i, pg := range c.Pushgateway {
		if pg == nil {
			continue
		}
		key := fmt.Sprintf("pushgateway[%d]", i)
		check(key+".job", model.JobLabel, pg.Job)
		checkMap(key+".grouping", pg.Grouping)
	}
	return errs
}
