package remotewrite

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/liftpush/liftpush/internal/config"
	"github.com/liftpush/liftpush/internal/push"
)

// Remote-write 2.0 falls back to 1.0 (DESIGN.md section 5, issue 10). A
// receiver that does not speak 2.0 should answer 415, but Prometheus 2.42
// and VictoriaMetrics 1.79 answer 204 and store nothing; the spec says a 2xx
// without the -Written headers SHOULD be taken as a 415. Prometheus' own
// sender then drops the data: liftpush resends the same batch as 1.0.

// message is the protobuf message this destination is sent now: the
// configured one until the receiver has shown it does not speak 2.0.
func (c *Client) message() string {
	if c.v1Only.Load() {
		return config.WriteRequestV1
	}
	return c.cfg.ProtobufMessage
}

// notV2 tells from the answer to a 2.0 request carrying sent samples
// whether the receiver does not speak 2.0, and why; "" when it does, or
// when err is an ordinary failure.
func (c *Client) notV2(res Result, err error, sent int) string {
	var herr *push.HTTPError
	switch {
	case errors.As(err, &herr) && herr.Status == http.StatusUnsupportedMediaType:
		return "HTTP 415 Unsupported Media Type"
	case errors.As(err, &herr) && herr.Status == http.StatusBadRequest && !c.spoke2.Load() && refusesV2(herr.Body):
		// Mimir answers 400, not 415, to a message it cannot take.
		// Only before the receiver ever took 2.0: later, a 400 is
		// about the data.
		return "HTTP 400 refusing the 2.0 message: " + herr.Body
	case err != nil:
		return ""
	case !res.WrittenKnown:
		return "2xx without X-Prometheus-Remote-Write-Samples-Written"
	case res.Samples+res.Histograms == 0 && sent > 0:
		// promtool 3.16 sends 1.0 bytes labelled 2.0; Prometheus 3
		// decodes an empty request and answers 204 with 0 written. Any
		// receiver answering so has stored nothing of a valid batch.
		return "X-Prometheus-Remote-Write-Samples-Written: 0"
	}
	return ""
}

// v2Words and refusalWords are what a 400 says when the receiver cannot
// take the 2.0 message itself rather than the data in it.
var (
	v2Words      = []string{"content-type", "content type", "protobuf", "proto message", "proto:", "remote write 2", "remote-write 2", "rw2", "write.v2", "unsupported media"}
	refusalWords = []string{"unsupported", "not supported", "not accepted", "unknown", "not implemented", "expected", "invalid", "wiretype", "illegal", "cannot parse", "unmarshal", "in non-remote write"}
)

// refusesV2 reads a 400's body for a refusal of the 2.0 message.
func refusesV2(body string) bool {
	b := strings.ToLower(body)
	has := func(words []string) bool {
		return slices.ContainsFunc(words, func(w string) bool { return strings.Contains(b, w) })
	}
	return has(v2Words) && has(refusalWords)
}

// fallBack switches the destination to 1.0 for the rest of the process,
// and says so once.
func (c *Client) fallBack(reason string) {
	if c.v1Only.CompareAndSwap(false, true) {
		c.logger.Warn("receiver does not accept remote-write 2.0, falling back to 1.0 for the rest of the process; no data is lost",
			"endpoint", c.Endpoint(), "reason", reason,
			"hint", "set protobuf_message: "+config.WriteRequestV1+" for this destination to skip the probe")
		c.rememberFallback()
	}
}

// store sends b in the destination's current format and returns how many
// of its samples the receiver wrote. A receiver that turns out not to speak
// 2.0 gets the same batch again, re-encoded as 1.0, so nothing is lost.
func (w *writer) store(b *batch) (written int, o outcome, kept bool) {
	n := len(b.samples)
	msg := w.c.message()
	if msg != config.WriteRequestV2 {
		o, kept = w.send(b, msg)
		return n - o.refused, o, kept
	}
	if n == 0 {
		// 2.0 carries metadata on series only: a batch of nothing but
		// metadata has nothing to say.
		return 0, outcome{}, false
	}
	o, kept = w.send(b, msg)
	if reason := w.c.notV2(o.res, o.err, n); reason != "" {
		w.c.fallBack(reason)
		reached("refused", b)
		v1, kept := w.send(b, config.WriteRequestV1)
		v1.retries += o.retries
		return n - v1.refused, v1, kept
	}
	if o.err != nil {
		return 0, o, kept
	}
	// A native histogram is one of the batch's samples; the receiver
	// counts it apart.
	return min(o.res.Samples+o.res.Histograms, n-o.refused), o, false
}

// partial records a 2.0 receiver that accepted a batch but wrote only some
// of its samples: the rest are lost, and resending would duplicate the rest.
func (w *writer) partial(written, sent int) {
	w.fail("partial_write", sent-written, fmt.Errorf("receiver wrote %d of %d samples (X-Prometheus-Remote-Write-Samples-Written)", written, sent))
}
