package testinfra

import (
	"bufio"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var (
	// An instant written out: Unix seconds or milliseconds from 2020 to
	// 2039, or a time.Date in those years.
	instantLiteral = regexp.MustCompile(`\b(1[6-9]\d{8}|2[0-1]\d{8})(\d{3})?\b|time\.Date\(20[23]\d,`)
	// A read of the wall clock, in Go or in PromQL.
	wallClock = regexp.MustCompile(`time\.(Now|Since|Until)\(|\btime\(\)`)
)

// calendarReviewed are the Go files that hold both an instant literal and a
// wall-clock read, each checked by hand: the literal is compared only with
// other literals or a fake clock, never with the wall clock.
var calendarReviewed = map[string]string{
	"internal/collect/spacelift/helpers_test.go": "the instant is where inBubble moves a synctest bubble's clock, and newEnv refuses a fake served over a pipe when the clock is not there; time.Now and time.Until read the bubble's clock",
	"internal/push/pushgateway/status_test.go":   "the instant is a sample's timestamp, which the request must leave out, never compared with a clock; time.Now reads a synctest bubble's clock",
	"internal/push/retry_test.go":                "the fixed instant is the now given to ParseRetryAfter, compared only with dates written out; time.Now reads a synctest bubble's clock",
}

// TestNoCalendarLiterals guards against a test that passes only until a
// date: main went red on 2026-12-01 when a fixture's billing period ended
// and the e2e compared it with time(). A Go file that writes an instant and
// also reads the wall clock must be reviewed and listed above; a stale entry
// fails too, so the list stays true.
func TestNoCalendarLiterals(t *testing.T) {
	root := moduleRoot()
	found := map[string]bool{}
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); name == ".git" || name == "fuzz" || name == "results" {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || filepath.Base(path) == "calendar_test.go" {
			return nil
		}
		literal, clock, err := scanCalendar(path)
		if err != nil {
			return err
		}
		if literal != "" && clock != "" {
			rel, _ := filepath.Rel(root, path)
			found[rel] = true
			if _, ok := calendarReviewed[rel]; !ok {
				t.Errorf("%s writes the instant %q and reads the wall clock (%q): make the instant relative to the clock, or use a fake clock or synctest, then list the file in calendarReviewed with why it is safe", rel, literal, clock)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for f := range calendarReviewed {
		if !found[f] {
			t.Errorf("calendarReviewed lists %s, which no longer holds both an instant and a wall-clock read; remove it", f)
		}
	}
}

// scanCalendar returns the first instant literal and wall-clock read in a
// file, each "" when there is none.
func scanCalendar(path string) (literal, clock string, err error) {
	f, err := os.Open(path)
	if err != nil {
		return "", "", err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	for sc.Scan() {
		line := sc.Text()
		if literal == "" {
			literal = instantLiteral.FindString(line)
		}
		if clock == "" {
			clock = wallClock.FindString(line)
		}
	}
	return literal, clock, sc.Err()
}
