package remotewrite

import (
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strconv"

	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/prompb"
	writev2 "github.com/prometheus/prometheus/prompb/io/prometheus/write/v2"

	"github.com/liftpush/liftpush/internal/config"
	"github.com/liftpush/liftpush/internal/push"
)

// A request that can never fit is split in halves, each sent on its own,
// recursively down to one sample (issue 19). A tenant's burst can be smaller
// than a request: Mimir then answers 429 to that request for ever while it
// takes the others, and retrying it whole, as Prometheus does, only holds
// back the rest of the push. The halves are sent one after the other, so the
// samples of a series keep their order. With a spool the body's record stays
// until every piece has an outcome: a piece appended as a record of its own
// would sort behind records written meanwhile, and a replay would then send
// a series' samples out of order. A crash or a timeout halfway resends the
// pieces already accepted, which receivers take as duplicates of identical
// samples.

// splitAfter429s is how many 429s in a row a body gets, while the
// destination accepts other requests, before it is taken as too big.
const splitAfter429s = 3

// splitError ends the retries of a body the receiver will never take whole,
// with the halves to send instead.
type splitError struct {
	err    error
	why    string
	halves [2]piece
}

func (e *splitError) Error() string { return e.why + ": " + e.err.Error() }
func (e *splitError) Unwrap() error { return e.err }

// burstRE reads Mimir's refusals that name the tenant's burst: the rate
// limit ("... set to 1000 items/s with a maximum allowed burst of 1500") and,
// for a request bigger than the burst, "the tenant exceeded the ingestion
// burst size limit, set to 1500, with 2000 items".
var burstRE = regexp.MustCompile(`(?:ingestion rate limit, set to [^ ]+ items/s with a maximum allowed burst of|ingestion burst size limit, set to) (\d+)`)

// tooBig watches the answers to one body: a 413, a 429 whose burst is below
// the body's items, or a run of 429s while other requests get through.
type tooBig struct {
	c        *Client
	msg      string
	body     []byte
	streak   int
	accepted int64 // c.accepted before the first attempt of the whole body
	// whole is set once the body turned out to have nothing smaller to
	// send (one sample, or unreadable): its answers then stand as they are.
	whole bool
}

// check returns a *splitError when err says the body can never fit and it
// can be cut in halves, else err: a 413 stays final, a 429 is retried.
func (t *tooBig) check(err error) error {
	var herr *push.HTTPError
	if t.whole || !errors.As(err, &herr) {
		t.streak = 0
		return err
	}
	switch herr.Status {
	case http.StatusRequestEntityTooLarge:
		return t.split(err, herr, "request too large (413)")
	case http.StatusTooManyRequests:
	default:
		t.streak = 0
		return err
	}
	if m := burstRE.FindStringSubmatch(herr.Body); m != nil {
		burst, _ := strconv.Atoi(m[1])
		if n := items(t.msg, t.body); burst > 0 && n > burst {
			return t.split(err, herr, fmt.Sprintf("request of %d items exceeds the tenant's burst of %d", n, burst))
		}
	}
	t.streak++
	if t.streak >= splitAfter429s && t.c.accepted.Load() > t.accepted {
		return t.split(err, herr, fmt.Sprintf("%d answers 429 in a row while other requests were accepted", t.streak))
	}
	return err
}

// split cuts the body for a *splitError, or returns err when there is
// nothing smaller to send.
func (t *tooBig) split(err error, herr *push.HTTPError, why string) error {
	halves, ok, serr := split(t.msg, t.body)
	if serr != nil || !ok {
		t.whole = true
		return err
	}
	return &splitError{err: herr, why: why, halves: halves}
}

// piece is one half of a split body.
type piece struct {
	body    []byte
	samples int
}

// items counts what Mimir's ingestion limit counts in a body: samples,
// histograms, exemplars and metadata. An unreadable body counts 0.
func items(msg string, body []byte) int {
	raw, err := snappy.Decode(nil, body)
	if err != nil {
		return 0
	}
	n := 0
	if msg == config.WriteRequestV2 {
		var req writev2.Request
		if req.Unmarshal(raw) != nil {
			return 0
		}
		for _, ts := range req.Timeseries {
			n += len(ts.Samples) + len(ts.Histograms) + len(ts.Exemplars)
			if ts.Metadata.Type != writev2.Metadata_METRIC_TYPE_UNSPECIFIED {
				n++
			}
		}
		return n
	}
	var req prompb.WriteRequest
	if req.Unmarshal(raw) != nil {
		return 0
	}
	for _, ts := range req.Timeseries {
		n += len(ts.Samples) + len(ts.Histograms) + len(ts.Exemplars)
	}
	return n + len(req.Metadata)
}

// split cuts a body in two halves of its series (or of its one series'
// samples, or of its metadata), first half first. ok is false when there is
// nothing left to cut.
func split(msg string, body []byte) (halves [2]piece, ok bool, err error) {
	raw, err := snappy.Decode(nil, body)
	if err != nil {
		return halves, false, fmt.Errorf("snappy: %w", err)
	}
	if msg == config.WriteRequestV2 {
		return splitV2(raw)
	}
	return splitV1(raw)
}

func splitV1(raw []byte) (halves [2]piece, ok bool, err error) {
	var req prompb.WriteRequest
	if err := req.Unmarshal(raw); err != nil {
		return halves, false, fmt.Errorf("decoding 1.0: %w", err)
	}
	var a, b prompb.WriteRequest
	ts, md := req.Timeseries, req.Metadata
	switch {
	case len(ts) >= 2:
		a.Timeseries, b.Timeseries = ts[:len(ts)/2], ts[len(ts)/2:]
		a.Metadata, b.Metadata = md[:len(md)/2], md[len(md)/2:]
	case len(ts) == 1 && len(ts[0].Samples) >= 2:
		s := ts[0].Samples
		a.Timeseries = []prompb.TimeSeries{{Labels: ts[0].Labels, Samples: s[:len(s)/2]}}
		b.Timeseries = []prompb.TimeSeries{{Labels: ts[0].Labels, Samples: s[len(s)/2:]}}
		a.Metadata = md
	case len(md) >= 2:
		a.Timeseries, a.Metadata, b.Metadata = ts, md[:len(md)/2], md[len(md)/2:]
	default:
		return halves, false, nil
	}
	for i, r := range []*prompb.WriteRequest{&a, &b} {
		out, err := r.Marshal()
		if err != nil {
			return halves, false, fmt.Errorf("encoding 1.0: %w", err)
		}
		n := 0
		for _, ts := range r.Timeseries {
			n += len(ts.Samples) + len(ts.Histograms)
		}
		halves[i] = piece{body: snappy.Encode(nil, out), samples: n}
	}
	return halves, true, nil
}

func splitV2(raw []byte) (halves [2]piece, ok bool, err error) {
	var req writev2.Request
	if err := req.Unmarshal(raw); err != nil {
		return halves, false, fmt.Errorf("decoding 2.0: %w", err)
	}
	var a, b []writev2.TimeSeries
	ts := req.Timeseries
	switch {
	case len(ts) >= 2:
		a, b = ts[:len(ts)/2], ts[len(ts)/2:]
	case len(ts) == 1 && len(ts[0].Samples) >= 2:
		s := ts[0].Samples
		first, second := ts[0], ts[0]
		first.Samples, second.Samples = s[:len(s)/2], s[len(s)/2:]
		second.Exemplars = nil
		a, b = []writev2.TimeSeries{first}, []writev2.TimeSeries{second}
	default:
		return halves, false, nil
	}
	for i, series := range [][]writev2.TimeSeries{a, b} {
		r, err := withOwnSymbols(req.Symbols, series)
		if err != nil {
			return halves, false, err
		}
		out, err := r.Marshal()
		if err != nil {
			return halves, false, fmt.Errorf("encoding 2.0: %w", err)
		}
		n := 0
		for _, ts := range r.Timeseries {
			n += len(ts.Samples) + len(ts.Histograms)
		}
		halves[i] = piece{body: snappy.Encode(nil, out), samples: n}
	}
	return halves, true, nil
}

// withOwnSymbols builds a 2.0 request of series with a symbols table of just
// the strings they use, so that a half is about half the bytes (a 413 asks
// for fewer bytes, not fewer series).
func withOwnSymbols(symbols []string, series []writev2.TimeSeries) (*writev2.Request, error) {
	out := &writev2.Request{Symbols: []string{""}}
	refs := map[uint32]uint32{0: 0}
	var bad error
	remap := func(old uint32) uint32 {
		if r, ok := refs[old]; ok {
			return r
		}
		if int(old) >= len(symbols) {
			bad = fmt.Errorf("symbol ref %d past the table's %d", old, len(symbols))
			return 0
		}
		r := uint32(len(out.Symbols))
		out.Symbols = append(out.Symbols, symbols[old])
		refs[old] = r
		return r
	}
	remapAll := func(in []uint32) []uint32 {
		o := make([]uint32, len(in))
		for i, ref := range in {
			o[i] = remap(ref)
		}
		return o
	}
	for _, ts := range series {
		ts.LabelsRefs = remapAll(ts.LabelsRefs)
		ts.Metadata.HelpRef = remap(ts.Metadata.HelpRef)
		ts.Metadata.UnitRef = remap(ts.Metadata.UnitRef)
		ex := make([]writev2.Exemplar, len(ts.Exemplars))
		for i, e := range ts.Exemplars {
			e.LabelsRefs = remapAll(e.LabelsRefs)
			ex[i] = e
		}
		ts.Exemplars = ex
		out.Timeseries = append(out.Timeseries, ts)
	}
	return out, bad
}
