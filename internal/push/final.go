package push

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	"github.com/liftpush/liftpush/internal/config"
)

// Failures that no retry within a cycle can change, though they come
// back from client.Do like network errors (issue 22): an untrusted or
// mismatched certificate was retried 88 times, a 307 loop made 614
// requests for 11 samples, and a missing password_file was retried for the
// whole cycle. They end the request at once. With a spool the batch stays
// there for the next cycle, which tries once more: the fault may be fixed
// by then.

// Reasons of a FinalError, as drop reasons in reports and self-metrics.
const (
	ReasonTLS      = "tls"
	ReasonRedirect = "redirect"
	ReasonLocal    = "local_config"
)

// FinalError is a failure to get an answer that retrying cannot fix: a
// TLS verification or handshake failure, a redirect loop, or a local
// file (a *_file secret, a CA) that cannot be read or used.
type FinalError struct {
	Reason string
	Err    error
	// Hint says what to check.
	Hint string
}

func (e *FinalError) Error() string {
	return fmt.Sprintf("%s (not retried: %s)", e.Err, e.Hint)
}

func (e *FinalError) Unwrap() error { return e.Err }

// MaxRedirects bounds the redirects one request follows. A remote-write
// or Pushgateway URL that needs more than one or two is misconfigured;
// Go's default of 10, times every retry, is what made hundreds of POSTs.
const MaxRedirects = 3

// errRedirect marks the errors of CheckRedirect.
var errRedirect = errors.New("redirect")

// BoundRedirects makes client follow at most MaxRedirects redirects and
// stop at the first one back to a URL already visited, with an error
// that is final. A client built with follow_redirects: false keeps not
// following them (it then gets the 3xx itself, which is final too).
func BoundRedirects(client *http.Client) {
	if client.CheckRedirect != nil {
		return
	}
	client.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		to := config.RedactURL(req.URL)
		for _, v := range via {
			if v.URL.String() == req.URL.String() {
				return fmt.Errorf("%w loop: redirected back to %s after %d redirects", errRedirect, to, len(via))
			}
		}
		if len(via) > MaxRedirects {
			return fmt.Errorf("%w: stopped after %d redirects, the last to %s", errRedirect, MaxRedirects, to)
		}
		return nil
	}
}

// finalTransport sorts an error of client.Do: a *FinalError for what
// retrying cannot change, nil for what may be transient.
func finalTransport(err error) *FinalError {
	var (
		verify   *tls.CertificateVerificationError
		unknown  x509.UnknownAuthorityError
		hostname x509.HostnameError
		invalid  x509.CertificateInvalidError
		record   tls.RecordHeaderError
		op       *net.OpError
		path     *fs.PathError
	)
	switch {
	case errors.Is(err, errRedirect):
		return &FinalError{Reason: ReasonRedirect, Err: err, Hint: "fix the URL to point at the receiver itself, not at something that redirects"}
	case errors.As(err, &verify), errors.As(err, &unknown), errors.As(err, &hostname), errors.As(err, &invalid):
		return &FinalError{Reason: ReasonTLS, Err: err, Hint: "the receiver's certificate is not trusted or does not match its name; set tls_config.ca_file to its CA, or tls_config.server_name"}
	case errors.As(err, &record), strings.Contains(err.Error(), "server gave HTTP response to HTTPS client"):
		// net/http turns the RecordHeaderError of an HTTP answer into
		// a message of its own, without a type.
		return &FinalError{Reason: ReasonTLS, Err: err, Hint: "the receiver does not speak TLS; use http://, or the receiver's TLS port"}
	case errors.As(err, &op) && op.Op == "remote error":
		// A TLS alert from the receiver: it refused the handshake
		// (protocol version, cipher suites, client certificate).
		return &FinalError{Reason: ReasonTLS, Err: err, Hint: "the receiver refused the TLS handshake; check tls_config (min_version, max_version, cert_file, key_file)"}
	case tlsHandshake(err):
		return &FinalError{Reason: ReasonTLS, Err: err, Hint: "the TLS handshake failed; check tls_config (min_version, max_version) against the receiver"}
	case errors.As(err, &path):
		return &FinalError{Reason: ReasonLocal, Err: err, Hint: "a file of the HTTP client's config (password_file, credentials_file, ca_file, cert_file, key_file, ...) cannot be read; check-config names it"}
	case strings.Contains(err.Error(), "unable to use specified CA cert"):
		// prometheus/common's wording for a ca_file without a usable
		// certificate; it has no error type of its own.
		return &FinalError{Reason: ReasonLocal, Err: err, Hint: "tls_config.ca_file holds no PEM certificate"}
	}
	return nil
}

// tlsHandshake recognises the handshake failures crypto/tls reports
// without a type, when the client itself gives up: no common protocol
// version or cipher suite.
func tlsHandshake(err error) bool {
	msg := err.Error()
	for _, s := range []string{
		"tls: server selected unsupported protocol version",
		"tls: no supported versions satisfy",
		"tls: server chose an unconfigured cipher suite",
		"tls: no cipher suite supported",
		"tls: handshake failure",
		"tls: protocol version not supported",
	} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

// urlInText finds the URLs an error message quotes.
var urlInText = regexp.MustCompile(`[a-zA-Z][a-zA-Z0-9+.-]*://[^\s"'<>]+`)

// scrubbedError is an error of client.Do whose message has the password
// and the query values of every URL it quotes redacted: net/http strips
// the password of its own URL only, and a ?token= would reach the log, as
// would the token_url of oauth2 quoted inside it. errors.Is and errors.As
// see the original.
type scrubbedError struct{ err error }

func (e *scrubbedError) Error() string {
	return urlInText.ReplaceAllStringFunc(e.err.Error(), func(s string) string {
		u, err := url.Parse(s)
		if err != nil || (u.User == nil && u.RawQuery == "") {
			return s
		}
		return config.RedactURL(u)
	})
}

func (e *scrubbedError) Unwrap() error { return e.err }
