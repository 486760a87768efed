package push

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestQuote(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"short", "out of bounds", "out of bounds"},
		{"long", strings.Repeat("x", 1000), strings.Repeat("x", MaxQuote) + "… (1000 bytes)"},
		// A cut inside a rune backs up to its start: the line stays UTF-8.
		{"rune boundary", strings.Repeat("x", MaxQuote-1) + "é" + strings.Repeat("y", 10), strings.Repeat("x", MaxQuote-1) + "… (267 bytes)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Quote(tc.in)
			if got != tc.want {
				t.Errorf("Quote = %q, want %q", got, tc.want)
			}
			if !utf8.ValidString(got) {
				t.Errorf("Quote = %q is not UTF-8", got)
			}
		})
	}
	if got, want := QuoteN("abc", 5000, true), "abc… (5000 bytes or more)"; got != want {
		t.Errorf("QuoteN = %q, want %q", got, want)
	}
}

func TestScrub(t *testing.T) {
	req, err := http.NewRequest(http.MethodPost, "http://u:pa55word@h/w?token=qtoken1&x=1", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer hdr-token")
	req.Header.Set("X-Scope-OrgID", "tenant-7")
	req.Header.Set("Content-Type", "application/x-protobuf")
	for _, tc := range []struct{ in, want string }{
		{"echo: Authorization: Bearer hdr-token", "echo: Authorization: <redacted>"},
		{"org tenant-7 unknown", "org <redacted> unknown"},
		{"GET /w?token=qtoken1 user pa55word", "GET /w?token=<redacted> user <redacted>"},
		{`{"password":"other-secret","api_key": "k-1"}`, `{"password":"<redacted>","api_key": "<redacted>"}`},
		{"access_token=abc&x=1", "access_token=<redacted>&x=1"},
		// What must stay: the receiver's reason, the protocol's headers.
		{"out of order sample; Content-Type: application/x-protobuf", "out of order sample; Content-Type: application/x-protobuf"},
	} {
		if got := Scrub(tc.in, req); got != tc.want {
			t.Errorf("Scrub(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestScrubbedError(t *testing.T) {
	inner := &url.Error{Op: "Post", URL: "http://t/token?key=tok-secret", Err: errors.New("connection refused")}
	err := &scrubbedError{&url.Error{Op: "Post", URL: "https://u:pw-secret@h/w?token=q-secret&a=b", Err: inner}}
	msg := err.Error()
	for _, s := range []string{"tok-secret", "pw-secret", "q-secret"} {
		if strings.Contains(msg, s) {
			t.Errorf("message holds %q: %s", s, msg)
		}
	}
	if !strings.Contains(msg, "https://u:xxxxx@h/w?a=xxxxx&token=xxxxx") || !strings.Contains(msg, "http://t/token?key=xxxxx") {
		t.Errorf("message does not show the redacted URLs: %s", msg)
	}
	var ue *url.Error
	if !errors.As(err, &ue) {
		t.Errorf("errors.As does not see the *url.Error")
	}
}
