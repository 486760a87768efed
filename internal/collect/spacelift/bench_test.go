package spacelift

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"testing"
)

// BenchmarkCollect1000Pools measures one daemon-mode cycle (token cached)
// against a loopback fake with 1,000 pools, fake server included.
func BenchmarkCollect1000Pools(b *testing.B) {
	e := newEnv(b, "pools-1000")
	if _, err := e.c.Collect(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.c.Collect(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecode1000Pools measures the collector's side alone: decoding a
// recorded 1,000-pool answer and building the families.
func BenchmarkDecode1000Pools(b *testing.B) {
	e := newEnv(b, "pools-1000")
	if _, err := e.c.Collect(context.Background()); err != nil {
		b.Fatal(err)
	}
	body := recordAnswer(b, e)
	c := stubCollector(b, body)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Collect(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
}

// recordAnswer replays the collector's last document against the fake and
// returns the raw answer.
func recordAnswer(tb testing.TB, e *env) []byte {
	tb.Helper()
	docs := e.srv.Stats().Documents
	q, err := json.Marshal(map[string]string{"query": docs[len(docs)-1]})
	if err != nil {
		tb.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodPost, e.loop.URL+"/graphql", bytes.NewReader(q))
	if err != nil {
		tb.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+e.c.jwt)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatal(err)
	}
	return body
}
