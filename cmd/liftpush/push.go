package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/alecthomas/kingpin/v2"

	"github.com/liftpush/liftpush/internal/config"
	"github.com/liftpush/liftpush/internal/exposition"
	"github.com/liftpush/liftpush/internal/pipeline"
)

type pushCmd struct {
	f       *flags
	file    string
	labels  []string
	timeout time.Duration
	format  string
}

func newPushCmd(app *kingpin.Application, f *flags) *pushCmd {
	c := &pushCmd{f: f}
	cmd := app.Command("push", `Push an exposition file (Prometheus text or OpenMetrics) once, like "promtool push metrics". The file is read as it is sent, in bounded memory. There is no overall deadline: the push goes on while receivers accept data, and gives up on one that accepts nothing for global.cycle_timeout. Samples without a timestamp get the current time; series without a job label get global.job.`)
	f.addConfigFlags(cmd)
	cmd.Flag("label", "Label to set on every series, name=value. Repeatable; overrides the file's value.").
		PlaceHolder("NAME=VALUE").StringsVar(&c.labels)
	cmd.Flag("timeout", "A hard bound on the whole push, retries included (default: none; a stalled receiver is given up on after global.cycle_timeout).").DurationVar(&c.timeout)
	cmd.Flag("format", "Input format: auto (OpenMetrics if the input ends with # EOF), text or openmetrics.").
		Default("auto").EnumVar(&c.format, "auto", "text", "openmetrics")
	cmd.Arg("file", "Exposition file, or - for standard input.").Required().StringVar(&c.file)
	return c
}

func (c *pushCmd) name() string { return "push" }

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
	in, ctype, closeIn, err := c.open()
	if err != nil {
		return usageError{err}
	}
	defer closeIn()
	// The file's series are all there is to push: no collector is built.
	cfg.Spacelift, cfg.Kubernetes, cfg.ScrapeConfigs = nil, nil, nil
	p, err := newPipeline(cfg, logger)
	if err != nil {
		return err
	}
	sigctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := pipeline.Graceful(sigctx, time.Duration(cfg.Global.ShutdownTimeout))
	defer cancel()
	if c.timeout > 0 {
		ctx, cancel = context.WithTimeout(ctx, c.timeout)
		defer cancel()
	}
	res := p.Push(ctx, pipeline.PushInput{
		Name: c.file, R: in, ContentType: ctype, Labels: set,
		Stall: time.Duration(cfg.Global.CycleTimeout),
	})
	if !res.OK() {
		return errFailed
	}
	return nil
}

// sniffSize is how much of standard input is looked at to tell OpenMetrics
// from the text format; larger input is read as text unless --format says.
const sniffSize = 4 << 20

// open opens the input and tells its format.
func (c *pushCmd) open() (io.Reader, string, func(), error) {
	fixed := map[string]string{"text": exposition.ContentTypeText, "openmetrics": exposition.ContentTypeOpenMetrics}[c.format]
	if c.file == "-" {
		br := bufio.NewReaderSize(os.Stdin, sniffSize)
		if fixed != "" {
			return br, fixed, func() {}, nil
		}
		head, err := br.Peek(sniffSize)
		if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
			return nil, "", nil, fmt.Errorf("reading standard input: %w", err)
		}
		return br, exposition.ContentTypeOf(head), func() {}, nil
	}
	f, err := os.Open(c.file)
	if err != nil {
		return nil, "", nil, fmt.Errorf("reading %s: %w", c.file, err)
	}
	ctype := fixed
	if ctype == "" {
		st, err := f.Stat()
		if err != nil {
			f.Close()
			return nil, "", nil, fmt.Errorf("reading %s: %w", c.file, err)
		}
		ctype = exposition.DetectContentType(f, st.Size())
	}
	return f, ctype, func() { f.Close() }, nil
}
