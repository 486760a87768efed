package config

import (
	"fmt"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// scheduleParser accepts standard 5-field cron specs, an optional leading
// seconds field, and descriptors such as @every 1m or @hourly.
var scheduleParser = cron.NewParser(cron.SecondOptional | cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// ParseSchedule parses global.schedule.
func ParseSchedule(spec string) (cron.Schedule, error) {
	// cron.Every turns an interval below one second (zero and negative
	// ones included) into one second, so "@every -1m" would silently run
	// a cycle every second.
	if d, ok := strings.CutPrefix(spec, "@every "); ok {
		if dur, err := time.ParseDuration(strings.TrimSpace(d)); err == nil && dur < time.Second {
			return nil, fmt.Errorf("global.schedule: %q has an interval below one second; use e.g. \"@every 1m\"", spec)
		}
	}
	s, err := scheduleParser.Parse(spec)
	if err != nil {
		return nil, fmt.Errorf("global.schedule: %q is not a cron spec (%w); use e.g. \"*/5 * * * *\" or \"@every 1m\"", spec, err)
	}
	return s, nil
}
