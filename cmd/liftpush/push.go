package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/alecthomas/kingpin/v2"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/liftpush/liftpush/internal/collect/scrape"
	"github.com/liftpush/liftpush/internal/config"
	"github.com/liftpush/liftpush/internal/metric"
	"github.com/liftpush/liftpush/internal/pipeline"
	"github.com/liftpush/liftpush/internal/push"
	"github.com/liftpush/liftpush/internal/push/remotewrite"
)

type pushCmd struct {
	f       *flags
	file    string
	labels  []string
	timeout time.Duration
}

func newPushCmd(app *kingpin.Application, f *flags) *pushCmd {
	c := &pushCmd{f: f}
	cmd := app.Command("push", `Push an exposition file (Prometheus text or OpenMetrics) once, like "promtool push metrics". Samples without a timestamp get the current time; series without a job label get global.job.`)
	f.addConfigFlags(cmd)
	cmd.Flag("label", "Label to set on every series, name=value. Repeatable; overrides the file's value.").
		PlaceHolder("NAME=VALUE").StringsVar(&c.labels)
	cmd.Flag("timeout", "How long the whole push may take, retries included (default: global.cycle_timeout).").DurationVar(&c.timeout)
	cmd.Arg("file", "Exposition file, or - for standard input.").Required().StringVar(&c.file)
	return c
}

func (c *pushCmd) name() string { return "push" }

// streamer is a destination that takes data as it is parsed, so a file of
// any size goes through in bounded memory.
type streamer interface {
	NewWriter(ctx context.Context) *remotewrite.Writer
}

func (c *pushCmd) exec(logger *slog.Logger) error {
	cfg, err := c.f.load(false)
	if err != nil {
		return err
	}
	if !cfg.HasDestination() {
		return usageError{config.ErrNoDestination}
	}
	set := map[string]string{}
	for _, kv := range c.labels {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return usageError{fmt.Errorf("--label %q: want name=value", kv)}
		}
		set[k] = v
	}
	body, err := readInput(c.file)
	if err != nil {
		return usageError{err}
	}
	dests, err := destinations(cfg, logger)
	if err != nil {
		return usageError{err}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	timeout := time.Duration(cfg.Global.CycleTimeout)
	if c.timeout > 0 {
		timeout = c.timeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	start := time.Now()
	var (
		writers  []*remotewrite.Writer
		buffered []push.Destination
		held     []metric.Family
	)
	for _, d := range dests {
		if s, ok := d.(streamer); ok {
			writers = append(writers, s.NewWriter(ctx))
		} else {
			buffered = append(buffered, d)
		}
	}
	dec := &pipeline.Decorator{Job: cfg.Global.Job, External: labels.FromMap(cfg.Global.ExternalLabels), T: start.UnixMilli()}
	lb := labels.NewBuilder(labels.EmptyLabels())
	chunk := 0
	for _, rw := range cfg.RemoteWrite {
		chunk = max(chunk, rw.QueueConfig.MaxSamplesPerSend)
	}
	st, perr := scrape.Parse(body, scrape.ContentTypeOf(body), scrape.ParseOptions{HonorTimestamps: true, ChunkSamples: max(chunk, 1000)}, func(f metric.Family) error {
		if len(set) > 0 {
			for i := range f.Samples {
				lb.Reset(f.Samples[i].Labels)
				for k, v := range set {
					lb.Set(k, v)
				}
				f.Samples[i].Labels = lb.Labels()
			}
		}
		dec.Decorate(&f)
		for _, w := range writers {
			w.Append(&f)
		}
		if len(buffered) > 0 {
			held = append(held, f)
		}
		return nil
	})
	if perr != nil {
		logger.Error("parsing input; pushing what was parsed before the error", "file", c.file, "err", perr)
	}
	var reports []push.Report
	for _, w := range writers {
		reports = append(reports, w.Close())
	}
	for _, d := range buffered {
		r := d.Deliver(ctx, []metric.Group{{Collector: "push", Up: perr == nil, Families: held}})
		r.Destination = d.Name()
		reports = append(reports, r)
	}
	ok := perr == nil
	attrs := []any{"file", c.file, "samples", st.Samples, "duration", time.Since(start).Round(time.Millisecond)}
	for _, r := range reports {
		ok = ok && r.Err == nil
		attrs = append(attrs, r.LogAttr())
	}
	logger.Info("push finished", attrs...)
	if !ok {
		return errFailed
	}
	return nil
}

func readInput(name string) ([]byte, error) {
	if name == "-" {
		b, err := io.ReadAll(os.Stdin)
		if err != nil {
			return nil, fmt.Errorf("reading standard input: %w", err)
		}
		return b, nil
	}
	b, err := os.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", name, err)
	}
	return b, nil
}
