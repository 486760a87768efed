package pipeline

import (
	"os"
	"runtime/debug"
	"strconv"
	"strings"

	"github.com/liftpush/liftpush/internal/config"
)

// applyRuntime applies the runtime block of cfg, as Prometheus does at
// start and on every reload: GOGC, and the log level when the pipeline was
// given the logger's (Options.LogLevel).
func (p *Pipeline) applyRuntime(rc config.RuntimeConfig) {
	gogc := envGoGC()
	if rc.GoGC != nil {
		gogc = *rc.GoGC
	}
	if old := debug.SetGCPercent(gogc); old != gogc {
		p.logger.Info("updated GOGC", "old", old, "new", gogc)
	}
	if lv := p.opts.LogLevel; lv != nil {
		level := rc.LogLevel
		if level == "" {
			level = p.flagLevel
		}
		// Validated with the config.
		if err := lv.Set(level); err != nil {
			p.logger.Error("applying runtime.log_level", "err", err)
		}
	}
}

// envGoGC is the GOGC a runtime block without gogc means: $GOGC when set
// (as Go reads it: "off" or a percentage), else Prometheus' 75.
func envGoGC() int {
	v := os.Getenv("GOGC")
	if strings.EqualFold(v, "off") {
		return -1
	}
	if n, err := strconv.Atoi(v); err == nil {
		return n
	}
	return config.DefaultGoGC
}
