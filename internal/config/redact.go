package config

import (
	"net/url"

	"go.yaml.in/yaml/v2"
)

// Keys whose values prometheus/common prints as they are, though they
// often hold a secret (issue 22): a scrape's params (?token=), oauth2's
// endpoint_params, http_headers' values, and the query of any URL. The
// printed config shows them as <secret> and xxxxx; the names stay, so the
// reader still sees what is set.
var (
	urlKeys       = map[string]bool{"url": true, "proxy_url": true, "token_url": true}
	valueMapKeys  = map[string]bool{"params": true, "endpoint_params": true}
	headerMapKeys = map[string]bool{"http_headers": true}
)

// redacted is what a redacted value is printed as, as config.Secret does.
const redacted = "<secret>"

// redactTree redacts a decoded config document in place and returns it.
func redactTree(v any) any {
	switch v := v.(type) {
	case yaml.MapSlice:
		for i := range v {
			k, _ := v[i].Key.(string)
			switch {
			case urlKeys[k]:
				if s, ok := v[i].Value.(string); ok {
					if u, err := url.Parse(s); err == nil {
						v[i].Value = RedactURL(u)
					}
				}
			case valueMapKeys[k]:
				v[i].Value = redactValues(v[i].Value)
			case headerMapKeys[k]:
				if hs, ok := v[i].Value.(yaml.MapSlice); ok {
					for j := range hs {
						if h, ok := hs[j].Value.(yaml.MapSlice); ok {
							for n := range h {
								if h[n].Key == "values" {
									h[n].Value = redactValues(h[n].Value)
								}
							}
						}
					}
				}
			default:
				v[i].Value = redactTree(v[i].Value)
			}
		}
	case []any:
		for i := range v {
			v[i] = redactTree(v[i])
		}
	}
	return v
}

// redactValues replaces every value of a map of values or lists of values,
// or of a list, by <secret>.
func redactValues(v any) any {
	switch v := v.(type) {
	case yaml.MapSlice:
		for i := range v {
			v[i].Value = redactValues(v[i].Value)
		}
	case []any:
		for i := range v {
			v[i] = redacted
		}
	case nil:
		return nil
	default:
		return redacted
	}
	return v
}

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
