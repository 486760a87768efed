package config

import "net/url"

// RedactURL renders u for a log line or printed config: the password and
// every query value replaced by xxxxx. Every value, not only the ones
// named like secrets: receivers take tokens under any name (?token=,
// ?api_key=, ?sig=, ?X-Amz-Signature=), and the names are enough to tell
// URLs apart (issue 22).
func RedactURL(u *url.URL) string {
	if u == nil {
		return ""
	}
	cp := *u
	if cp.RawQuery != "" {
		q := cp.Query()
		for _, vs := range q {
			for i := range vs {
				vs[i] = "xxxxx"
			}
		}
		cp.RawQuery = q.Encode()
	}
	return cp.Redacted()
}
