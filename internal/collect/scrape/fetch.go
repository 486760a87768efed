package scrape

import (
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/prometheus/common/model"
	promconfig "github.com/prometheus/prometheus/config"

	"github.com/liftpush/liftpush/internal/exposition"
)

// defaultBodySizeLimit bounds a scrape body when body_size_limit is unset.
// Prometheus reads without a bound then; a push agent on a small edge node
// must not let one target take the process down, and 64 MiB decompressed
// is some 500,000 kube-state-metrics series.
const defaultBodySizeLimit = 64 << 20

// errBodySizeLimit is a body over body_size_limit, decompressed.
var errBodySizeLimit = errors.New("body_size_limit exceeded")

// body is a scrape response being read: decompressed, counted and cut at
// the job's body_size_limit.
type body struct {
	r           io.Reader
	closers     []func() error
	contentType string
	n, limit    int64
	over        bool
}

func (b *body) Read(p []byte) (int, error) {
	if b.over {
		return 0, errBodySizeLimit
	}
	if rest := b.limit - b.n + 1; int64(len(p)) > rest {
		p = p[:rest]
	}
	k, err := b.r.Read(p)
	b.n += int64(k)
	if b.n > b.limit {
		b.over = true
		return k, errBodySizeLimit
	}
	return k, err
}

// read is how many decompressed bytes were read; -1 when over the limit, as
// Prometheus' scrape_body_size_bytes says.
func (b *body) read() int64 {
	if b.over {
		return -1
	}
	return b.n
}

// err names the limit when the body was cut.
func (b *body) err() error {
	if b.over {
		return fmt.Errorf("%w: the body is larger than %d bytes; raise body_size_limit or expose less", errBodySizeLimit, b.limit)
	}
	return nil
}

// Close closes the decompressor and the response.
func (b *body) Close() error {
	var errs []error
	for i := len(b.closers) - 1; i >= 0; i-- {
		errs = append(errs, b.closers[i]())
	}
	return errors.Join(errs...)
}

func (c *Collector) bodyLimit() int64 {
	if c.cfg.BodySizeLimit > 0 {
		return int64(c.cfg.BodySizeLimit)
	}
	return defaultBodySizeLimit
}

// open starts reading one target.
func (c *Collector) open(ctx context.Context, t *target) (*body, error) {
	if c.cfg.Scheme == "file" {
		return c.openFile(ctx)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, t.url, http.NoBody)
	if err != nil {
		return nil, fmt.Errorf("building request: %w", err)
	}
	req.Header.Set("Accept", c.accept)
	// The common HTTP client disables Go's transparent gzip: ask for it
	// and decode below, as Prometheus does.
	if c.cfg.EnableCompression {
		req.Header.Set("Accept-Encoding", "gzip")
	} else {
		req.Header.Set("Accept-Encoding", "identity")
	}
	req.Header.Set("X-Prometheus-Scrape-Timeout-Seconds", strconv.FormatFloat(t.timeout.Seconds(), 'f', -1, 64))
	resp, err := c.clientFor(t).Do(req)
	if err != nil {
		return nil, fmt.Errorf("scraping: %w", err)
	}
	b := &body{r: resp.Body, limit: c.bodyLimit(), closers: []func() error{func() error {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
		return resp.Body.Close()
	}}}
	if resp.StatusCode != http.StatusOK {
		snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 256))
		b.Close()
		return nil, fmt.Errorf("server returned HTTP status %s: %s", resp.Status, strings.TrimSpace(string(snippet)))
	}
	if resp.Header.Get("Content-Encoding") == "gzip" {
		gz, err := gzip.NewReader(resp.Body)
		if err != nil {
			b.Close()
			return nil, fmt.Errorf("decoding gzip body: %w", err)
		}
		b.r = gz
		b.closers = append(b.closers, gz.Close)
	}
	b.contentType, err = c.contentType(resp.Header.Get("Content-Type"))
	if err != nil {
		b.Close()
		return nil, err
	}
	return b, nil
}

// contentType picks the parser as Prometheus 3 does: the response's media
// type when it is one of the exposition formats, else
// fallback_scrape_protocol, else an error.
func (c *Collector) contentType(ct string) (string, error) {
	mt, _, err := mime.ParseMediaType(ct)
	if err == nil {
		switch mt {
		case "text/plain", "application/openmetrics-text", "application/vnd.google.protobuf":
			return ct, nil
		}
	}
	if fb := c.cfg.ScrapeFallbackProtocol; fb != "" {
		return promconfig.ScrapeProtocolsHeaders[fb], nil
	}
	if ct == "" {
		return "", errors.New("the target sent no Content-Type and the job has no fallback_scrape_protocol; set fallback_scrape_protocol: PrometheusText0.0.4, as Prometheus 3 asks")
	}
	return "", fmt.Errorf("the target sent Content-Type %s, which is no exposition format, and the job has no fallback_scrape_protocol; set one, e.g. PrometheusText0.0.4", cut(ct))
}

// acceptHeader lists the protocols by falling q-value, then */*, with the
// escaping scheme on the formats that carry one, as Prometheus does.
func acceptHeader(protocols []promconfig.ScrapeProtocol, validation model.ValidationScheme, escaping string) string {
	scheme, err := promconfig.ToEscapingScheme(escaping, validation)
	if err != nil {
		scheme = model.UnderscoreEscaping
	}
	var b strings.Builder
	q := len(promconfig.ScrapeProtocolsHeaders) + 1
	for _, p := range protocols {
		b.WriteString(promconfig.ScrapeProtocolsHeaders[p])
		if p == promconfig.PrometheusText1_0_0 || p == promconfig.OpenMetricsText1_0_0 || p == promconfig.OpenMetricsText2_0_0 {
			b.WriteString(";" + model.EscapingKey + "=" + scheme.String())
		}
		fmt.Fprintf(&b, ";q=0.%d,", q)
		q--
	}
	fmt.Fprintf(&b, "*/*;q=0.%d", q)
	return b.String()
}

// openFile opens the job's exposition file. Only a regular file is read: a
// named pipe would block the run, a device (/dev/zero) would never end.
// Its size counts against body_size_limit like a response's.
func (c *Collector) openFile(ctx context.Context) (*body, error) {
	f, size, err := openRegular(c.cfg.MetricsPath)
	if err != nil {
		return nil, err
	}
	b := &body{r: &ctxReader{ctx: ctx, r: f}, limit: c.bodyLimit(), closers: []func() error{f.Close}}
	if size > b.limit {
		b.Close()
		b.over = true
		return nil, b.err()
	}
	b.contentType = exposition.DetectContentType(f, size)
	return b, nil
}

// ctxReader fails reads once ctx is done, so that a slow file (a hung
// network mount) ends at the scrape timeout between reads.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (r *ctxReader) Read(p []byte) (int, error) {
	if err := r.ctx.Err(); err != nil {
		return 0, fmt.Errorf("reading exposition file: %w", err)
	}
	return r.r.Read(p)
}
