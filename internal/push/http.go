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

// MaxErrorBody caps the part of an error answer that is read and logged.
const MaxErrorBody = 1024

// HTTPError is an answer that ends delivery: retrying it cannot help.
type HTTPError struct {
	Status int
	// Body is the start of the answer, at most MaxErrorBody bytes.
	Body string
}

func (e *HTTPError) Error() string {
	return fmt.Sprintf("server returned HTTP status %d %s: %s", e.Status, http.StatusText(e.Status), e.Body)
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
		if budget.Err() != nil {
			return Answer{}, err
		}
		return Answer{}, &RecoverableError{Err: err}
	}
	defer func() {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
	}()
	if resp.StatusCode/100 == 2 {
		return Answer{Status: resp.StatusCode, Header: resp.Header}, nil
	}
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, MaxErrorBody))
	herr := &HTTPError{Status: resp.StatusCode, Body: strings.TrimSpace(string(snippet))}
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
// "error" for anything else.
func DropReason(budget context.Context, err error) string {
	var (
		rec  *RecoverableError
		herr *HTTPError
	)
	switch {
	case errors.Is(context.Cause(budget), ErrStalled):
		return "stalled"
	case errors.Is(context.Cause(budget), ErrShutdown):
		return "shutdown"
	case errors.As(err, &rec), budget.Err() != nil:
		return "timeout"
	case errors.As(err, &herr):
		return herr.Reason()
	}
	return "error"
}
