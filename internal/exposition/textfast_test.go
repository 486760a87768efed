package exposition

import (
	"bytes"
	"fmt"
	"math"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/liftpush/liftpush/internal/metric"
	"github.com/liftpush/liftpush/internal/testinfra/ksmgen"
)

// exactSample is a sample with its value's bits, so that NaN payloads and
// -0 count.
type exactSample struct {
	Family, Type, Help, Series string
	Bits                       uint64
	T                          int64
}

func exact(fams []metric.Family) []exactSample {
	out := []exactSample{}
	for _, f := range fams {
		if len(f.Samples) == 0 {
			out = append(out, exactSample{Family: f.Name, Series: "(no samples)"})
		}
		for _, s := range f.Samples {
			out = append(out, exactSample{f.Name, string(f.Type), f.Help, s.Labels.String(), math.Float64bits(s.Value), s.T})
		}
	}
	return out
}

// compareFast checks that where parseText takes the input, it gives exactly
// what textparse gives; it reports whether parseText took it.
func compareFast(t *testing.T, body []byte, opts ParseOptions) bool {
	t.Helper()
	fast, fst, ok := parseText(body, opts)
	if !ok {
		if fast != nil {
			t.Errorf("parseText refused the input but returned %d families", len(fast))
		}
		return false
	}
	var slow []metric.Family
	sst, err := parseTextparse(body, ctText, opts, func(f metric.Family) error {
		slow = append(slow, f)
		return nil
	})
	if err != nil {
		t.Fatalf("parseText took %q, textparse fails it: %v", body, err)
	}
	if d := cmp.Diff(exact(slow), exact(fast)); d != "" {
		t.Fatalf("input %q, options %+v (-textparse +parseText):\n%s", body, opts, d)
	}
	if fst != sst {
		t.Fatalf("input %q: stats %+v, textparse %+v", body, fst, sst)
	}
	return true
}

func TestParseTextMatchesTextparse(t *testing.T) {
	cases := []struct {
		name string
		body string
		fast bool // parseText takes it
	}{
		{"metadata and samples", "# HELP a The a.\n# TYPE a counter\na{x=\"1\",y=\"2\"} 1 1700000000000\na{x=\"2\"} 2\n", true},
		{"unsorted labels", "a{z=\"1\",b=\"2\",m=\"3\"} 1\n", true},
		{"histogram le normalised", "# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"1e3\"} 2\nh_bucket{le=\"+Inf\"} 3\nh_sum 3\nh_count 3\n", true},
		{"summary quantile normalised", "# TYPE s summary\ns{quantile=\"0.50\"} 1\ns{quantile=\"1\"} 1\ns_sum 2\ns_count 3\n", true},
		{"last TYPE normalises other families", "# TYPE h histogram\nh_count 1\nother{le=\"1\"} 1\n", true},
		{"blanks between tokens", "a { x = \"1\" , y=\"2\" , } 4   5  \n", true},
		{"no comma between pairs", "a{x=\"1\" y=\"2\"} 1\n", true},
		{"value glued to name and braces", "a+1\nb{x=\"1\"}2\n", true},
		{"special values", "a NaN\nb +Inf\nc -Inf\nd -0\ne 1e-300\nf .5\n", true},
		{"comments and blank lines", "#no blank\n# just a comment\n\n \t \n# HELPER x\n# HELP\na 1\n", true},
		{"no final newline", "a 1", true},
		{"empty label value", "a{x=\"\"} 1\n", true},
		{"empty values vary", "a{y=\"\",x=\"1\"} 1\na{y=\"1\",x=\"\"} 2\na{y=\"\",x=\"\"} 3\na{y=\"2\",x=\"2\"} 4\na{y=\"\",x=\"1\"} 5\n", true},
		{"utf-8 value", "a{x=\"ünï\"} 1\n", true},
		{"help changes family", "a 1\n# HELP a Again.\na 2\nb 3\n# TYPE a gauge\na 4\n", true},
		{"suffixes join the family", "# TYPE c counter\nc_total 1\nc_created 2\nc_bucket 3\nc_other 4\n", true},
		{"escapes", "a{x=\"\\\\\"} 1\n", false},
		{"help escape", "# HELP a A \\n b.\na 1\n", false},
		{"quoted name", "{\"a.b\"} 1\n", false},
		{"leading blank on a sample", " a 1\n", false},
		{"duplicate label", "a{x=\"1\",x=\"2\"} 1\n", false},
		{"name as a label", "a{__name__=\"b\"} 1\n", false},
		{"NUL", "a 1\n\x00\nb 2\n", false},
		{"NUL in a label value", "a{x=\"1\x002\"} 1\n", false},
		{"NUL in a long label value", "a{x=\"12345678901234567\x00\"} 1\n", false},
		{"NUL in a comment", "# a \x00 comment\na 1\n", false},
		{"NUL in help", "# HELP a A\x00.\na 1\n", false},
		{"NUL after a value", "a 1\x00\n", false},
		{"NUL after a timestamp", "a 1 2\x00\n", false},
		{"NUL in a label name", "a{x\x00=\"1\"} 1\n", false},
		{"multi-line value", "a{x=\"1\n2\"} 1\n", false},
		{"invalid utf-8", "a{x=\"\xff\"} 1\n", false},
		{"hex value", "a 0x1p3\n", false},
		{"bad type", "# TYPE a gauge \na 1\n", false},
		{"negative timestamp", "a 1 -5\n", false},
		{"timestamp overflow", "a 1 99999999999999999999\n", false},
		{"no value", "a\n", false},
		{"help without text", "# HELP a\na 1\n", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, opts := range []ParseOptions{
				{HonorTimestamps: true},
				{ChunkSamples: 1},
				{
					Set:     labels.FromStrings("x", "set", "gone", ""),
					Default: labels.FromStrings("job", "push", "y", "dflt"),
				},
			} {
				if got := compareFast(t, []byte(c.body), opts); got != c.fast {
					t.Errorf("parseText took the input: %v, want %v", got, c.fast)
				}
			}
		})
	}
}

// TestParseTextTakesKSM makes sure the fast path is the one a
// kube-state-metrics file takes, and that it agrees with textparse there.
func TestParseTextTakesKSM(t *testing.T) {
	var b bytes.Buffer
	if _, err := ksmgen.Write(&b, 20000); err != nil {
		t.Fatal(err)
	}
	opts := ParseOptions{HonorTimestamps: true, ChunkSamples: 500, Default: labels.FromStrings("job", "push", "cluster", "c1")}
	if !compareFast(t, b.Bytes(), opts) {
		t.Fatal("parseText refused a ksmgen file")
	}
}

// FuzzParseText holds parseText to textparse: whatever it takes, it must
// read exactly as textparse does. Some inputs have a byte repeated to a
// hostile size: parseText must refuse a label over the limit rather than
// build it.
func FuzzParseText(f *testing.F) {
	var b bytes.Buffer
	if _, err := ksmgen.Write(&b, 2); err != nil {
		f.Fatal(err)
	}
	f.Add(b.Bytes(), uint8(0), uint16(0), uint8(0))
	f.Add([]byte("a{x=\"1\"} 1\n"), uint8(0), uint16(5), uint8(5))
	f.Add([]byte("a{x=\"1\"} 1\n"), uint8(0), uint16(0), uint8(5))
	for _, s := range []string{
		"# HELP a A.\n# TYPE a counter\na{x=\"1\"} 1 1700000000000\n",
		"# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} 2\nh_sum 3\nh_count 2\n",
		"# TYPE s summary\ns{quantile=\"0.5\"} 1\ns_sum 2\ns_count 3\n",
		"a{ b = \"1\" c=\"2\",} NaN 5\n",
		"a{x=\"\"} 1\n#c\n# TYPE b gauge\nb{le=\"1\"} 2\n",
	} {
		f.Add([]byte(s), uint8(1), uint16(0), uint8(0))
	}
	f.Fuzz(func(t *testing.T, body []byte, o uint8, at uint16, size uint8) {
		body = inflate(body, at, size, 0)
		opts := ParseOptions{HonorTimestamps: o&1 != 0, ChunkSamples: int(o>>1) % 4}
		if o&8 != 0 {
			opts.Set = labels.FromStrings("x", fmt.Sprint(o), "b", "")
		}
		if o&16 != 0 {
			opts.Default = labels.FromStrings("job", "j", "y", "d")
		}
		compareFast(t, body, opts)
	})
}

// TestPlainASCII checks the word-at-a-time scan against a byte loop: it
// stops at the word holding the first byte a label value's scan stops at.
func TestPlainASCII(t *testing.T) {
	stops := []byte{'"', '\\', '\n', 0, 0x80, 0xff}
	for n := range 40 {
		for at := range n + 1 {
			for _, c := range stops {
				b := bytes.Repeat([]byte("a"), n)
				if at < n {
					b[at] = c
				}
				want := 0
				for want+8 <= n && (at >= n || at >= want+8) {
					want += 8
				}
				if got := plainASCII(b); got != want {
					t.Fatalf("plainASCII(%q) = %d, want %d", b, got, want)
				}
			}
		}
	}
}
