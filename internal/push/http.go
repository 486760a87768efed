package push

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// MaxErrorBody caps the part of an error answer that is read, to tell why
// it failed; at most MaxQuote bytes of it are logged.
const MaxErrorBody = 1024

// maxDrain caps what is read of an answer only to reuse its connection.
const maxDrain = 1 << 20

// HTTPError is an answer that ends delivery: retrying it cannot help.
type HTTPError struct {
	Status int
	// Body is the start of the answer, at most MaxErrorBody bytes, with
	// credentials scrubbed (Scrub): a receiver may echo the request's
	// headers.
	Body string
	// Size is the length of the answer's body as far as it was read;
	// More says it went on past maxDrain.
	Size int
	More bool
}

func (e *HTTPError) Error() string {
	return fmt.Sprintf("server returned HTTP status %d %s: %s", e.Status, http.StatusText(e.Status), e.Quoted())
}

// Quoted is the body as a log line may show it: scrubbed, and cut to
// MaxQuote bytes with its length said.
func (e *HTTPError) Quoted() string {
	if len(e.Body) <= MaxQuote && e.Size <= MaxErrorBody && !e.More {
		return e.Body // read whole; only trimmed
	}
	return QuoteN(e.Body, max(e.Size, len(e.Body)), e.More)
}

// Reason names the drop in reports and self-metrics. A 400 that says why
// is named by what it says: Mimir, Prometheus and VictoriaMetrics refuse
// out-of-order and too-old samples with 400 and keep the rest of the
// request, so these are data errors, not broken requests.
func (e *HTTPError) Reason() string {
	if e.Status == http.StatusBadRequest {
		if r := refusal(e.Body); r != "" {
			return r
		}
	}
	return "http_" + strconv.Itoa(e.Status)
}

// refusal recognises the receivers' wording for samples refused for their
// timestamp; "" when the body says something else.
func refusal(body string) string {
	b := strings.ToLower(body)
	switch {
	case strings.Contains(b, "out of order"), strings.Contains(b, "out-of-order"):
		// Mimir: err-mimir-sample-out-of-order; Prometheus: "out of order sample".
		return "out_of_order"
	case strings.Contains(b, "too old"), strings.Contains(b, "timestamp-too-old"),
		strings.Contains(b, "out of bounds"), strings.Contains(b, "too far in the past"):
		return "too_old"
	}
	return ""
}

// Classifier sends one attempt and sorts its outcome the way Prometheus'
// remote-write client does: network errors and 5xx are recoverable, 429 is
// recoverable when allowed, everything else is final. A recoverable answer
// carries its Retry-After.
type Classifier struct {
	RetryOn429 bool
	// Permanent, when set, marks 5xx bodies that can never succeed.
	Permanent func(body string) bool
}

// Answer is what a receiver said to an accepted request: its status and
// headers (remote-write 2.0 reports what it stored in headers).
type Answer struct {
	Status int
	Header http.Header
}

// Do sends req (whose context may be shorter than budget, e.g. a per-request
// timeout) and returns the answer on 2xx, or else a *RecoverableError worth
// retrying or a final error (*HTTPError for an answer). Once budget is over,
// a network error is final too: there is no time left to retry in. The body
// is always drained and closed so the connection is reused.
func (c Classifier) Do(budget context.Context, client *http.Client, req *http.Request) (Answer, error) {
	resp, err := client.Do(req)
	if err != nil {
		err = &scrubbedError{err}
		if ferr := finalTransport(err); ferr != nil {
			return Answer{}, ferr
		}
		if budget.Err() != nil {
			return Answer{}, err
		}
		return Answer{}, &RecoverableError{Err: err}
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 == 2 {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxDrain))
		return Answer{Status: resp.StatusCode, Header: resp.Header}, nil
	}
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, MaxErrorBody))
	rest, _ := io.Copy(io.Discard, io.LimitReader(resp.Body, maxDrain))
	sent := resp.Request
	if sent == nil {
		sent = req
	}
	herr := &HTTPError{
		Status: resp.StatusCode,
		Body:   strings.TrimSpace(Scrub(string(snippet), sent)),
		Size:   len(snippet) + int(rest),
		More:   rest == maxDrain,
	}
	switch {
	case resp.StatusCode/100 == 5 && c.Permanent != nil && c.Permanent(herr.Body):
		return Answer{}, herr
	case resp.StatusCode/100 == 5,
		resp.StatusCode == http.StatusTooManyRequests && c.RetryOn429:
		// Retry-After on a 503 is as much the receiver's word as on a
		// 429 (RFC 9110 section 10.2.3); Mimir grows it with the
		// request's Retry-Attempt.
		return Answer{}, &RecoverableError{Err: herr, RetryAfter: ParseRetryAfter(resp.Header.Get("Retry-After"), time.Now())}
	}
	return Answer{}, herr
}

// DropReason names why a delivery finally failed: "stalled" when the
// receiver stopped accepting (see WithStall), "shutdown" when the process
// stopped before it was done, "timeout" when it was still
// failing when its budget ran out, "http_<status>" for a final answer,
// "tls", "redirect" or "local_config" for a FinalError, "error" for
// anything else.
func DropReason(budget context.Context, err error) string {
	var (
		rec   *RecoverableError
		herr  *HTTPError
		final *FinalError
	)
	switch {
	case errors.Is(context.Cause(budget), ErrStalled):
		return "stalled"
	case errors.Is(context.Cause(budget), ErrShutdown):
		return "shutdown"
	case errors.As(err, &final):
		return final.Reason
	case errors.As(err, &rec), budget.Err() != nil:
		return "timeout"
	case errors.As(err, &herr):
		return herr.Reason()
	}
	return "error"
}
