package spacelift

import (
	"flag"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

func TestGolden(t *testing.T) {
	for _, fixture := range []string{"demo", "empty", "names", "pools-1000"} {
		t.Run(fixture, func(t *testing.T) {
			inBubble(t, func(t *testing.T) {
				e := newEnv(t, fixture)
				fams, err := e.collect(t)
				if err != nil {
					t.Fatalf("Collect: %v", err)
				}
				golden(t, fixture, render(t, fams))
				if got := e.srv.Stats().Queries; got != 1 {
					t.Errorf("%d queries, want one combined query per cycle", got)
				}
			})
		})
	}
}
