package push

import (
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"unicode/utf8"
)

// MaxQuote caps what a log line quotes of remote input (an error body, a
// label value): a hostile receiver or target must not fill the logs
// (issue 22).
const MaxQuote = 256

// Quote cuts s to MaxQuote bytes, on a rune boundary, and says how long it
// was.
func Quote(s string) string {
	return QuoteN(s, len(s), false)
}

// QuoteN is Quote for the start of a longer input: total is the length
// of the whole input, more says it may be longer still (it was read up to
// a limit).
func QuoteN(s string, total int, more bool) string {
	if len(s) <= MaxQuote && total <= len(s) && !more {
		return s
	}
	cut := min(len(s), MaxQuote)
	for cut > 0 && cut < len(s) && !utf8.RuneStart(s[cut]) {
		cut--
	}
	plus := ""
	if more {
		plus = " or more"
	}
	return fmt.Sprintf("%s… (%d bytes%s)", s[:cut], total, plus)
}

// secretNearKey finds a credential written after its name, as receivers
// and proxies echo them: "Authorization: Bearer x", "token=x",
// `"password":"x"`, "api_key: x".
var secretNearKey = regexp.MustCompile(`(?i)((?:proxy-)?authorization|cookie|x-api-key|api[_-]?key|access[_-]?token|refresh[_-]?token|token|secret|password|passwd|credentials?)(["']?\s*[:=]\s*["']?)(?:(?:bearer|basic|token|negotiate)\s+)?[^\s"',;&}]+`)

// notSecret are request headers whose values are the protocol's, and so
// safe and useful to keep in an echoed body.
var notSecret = map[string]bool{
	"Content-Type": true, "Content-Encoding": true, "Content-Length": true,
	"User-Agent": true, "Accept-Encoding": true, "Retry-Attempt": true,
	"X-Prometheus-Remote-Write-Version": true,
}

// Scrub removes credentials from a body a receiver sent back: the value of
// every header of the request that got it (req may be nil), which a
// receiver echoing its request would quote, and whatever looks like a
// credential after its name.
func Scrub(body string, req *http.Request) string {
	if req != nil {
		for k, vs := range req.Header {
			if notSecret[k] {
				continue
			}
			for _, v := range vs {
				if len(v) >= 4 {
					body = strings.ReplaceAll(body, v, "<redacted>")
				}
			}
		}
		if u := req.URL; u != nil {
			if p, ok := u.User.Password(); ok && len(p) >= 4 {
				body = strings.ReplaceAll(body, p, "<redacted>")
			}
			for _, vs := range u.Query() {
				for _, v := range vs {
					if len(v) >= 4 {
						body = strings.ReplaceAll(body, v, "<redacted>")
					}
				}
			}
		}
	}
	return secretNearKey.ReplaceAllString(body, "$1$2<redacted>")
}
