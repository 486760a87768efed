package pipeline

import (
	"log/slog"
	"runtime/debug"
	"testing"

	"github.com/prometheus/common/promslog"

	"github.com/liftpush/liftpush/internal/config"
)

// TestRuntimeBlock: runtime.gogc and runtime.log_level take effect when a
// configuration is applied, at start and on reload, and a reload without
// them goes back to $GOGC (else 75) and --log.level, as in Prometheus.
func TestRuntimeBlock(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	t.Setenv("GOGC", "")
	level := promslog.NewLevel()
	if err := level.Set("warn"); err != nil {
		t.Fatal(err)
	}
	p := &Pipeline{logger: slog.New(slog.DiscardHandler), opts: Options{LogLevel: level}, flagLevel: "warn"}
	gogc := func() int {
		n := debug.SetGCPercent(0)
		debug.SetGCPercent(n)
		return n
	}
	with := func(rc config.RuntimeConfig) *built {
		cfg := config.Default()
		cfg.Runtime = rc
		return &built{cfg: cfg}
	}
	fifty := 50
	off := -1
	for _, step := range []struct {
		name      string
		env       string
		rc        config.RuntimeConfig
		wantGoGC  int
		wantLevel string
	}{
		{name: "set", rc: config.RuntimeConfig{GoGC: &fifty, LogLevel: "debug"}, wantGoGC: 50, wantLevel: "debug"},
		{name: "removed on reload", wantGoGC: config.DefaultGoGC, wantLevel: "warn"},
		{name: "$GOGC without the key", env: "200", wantGoGC: 200, wantLevel: "warn"},
		{name: "the key wins over $GOGC", env: "200", rc: config.RuntimeConfig{GoGC: &off}, wantGoGC: -1, wantLevel: "warn"},
		{name: "$GOGC=off", env: "off", wantGoGC: -1, wantLevel: "warn"},
	} {
		t.Setenv("GOGC", step.env)
		p.apply(with(step.rc))
		if got := gogc(); got != step.wantGoGC {
			t.Errorf("%s: GOGC %d, want %d", step.name, got, step.wantGoGC)
		}
		if got := level.String(); got != step.wantLevel {
			t.Errorf("%s: log level %s, want %s", step.name, got, step.wantLevel)
		}
	}
}
