package remotewrite

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cespare/xxhash/v2"
	"github.com/golang/snappy"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/prompb"

	"github.com/liftpush/liftpush/internal/config"
	"github.com/liftpush/liftpush/internal/metric"
	"github.com/liftpush/liftpush/internal/push"
	"github.com/liftpush/liftpush/internal/push/pushtest"
	"github.com/liftpush/liftpush/internal/spool"
)

// seriesOf decodes a body of either message into "labels@t=v" strings, in
// order, and the body's metadata families.
func seriesOf(t *testing.T, msg string, body []byte) (series, meta []string) {
	t.Helper()
	if msg == config.WriteRequestV2 {
		v1, err := v2ToV1(body)
		if err != nil {
			t.Fatal(err)
		}
		body = v1
	}
	raw, err := snappy.Decode(nil, body)
	if err != nil {
		t.Fatal(err)
	}
	var req prompb.WriteRequest
	if err := req.Unmarshal(raw); err != nil {
		t.Fatal(err)
	}
	for _, ts := range req.Timeseries {
		for _, s := range ts.Samples {
			series = append(series, fmt.Sprintf("%s@%d=%g", labelString(ts.Labels), s.Timestamp, s.Value))
		}
	}
	for _, m := range req.Metadata {
		meta = append(meta, m.MetricFamilyName)
	}
	return series, meta
}

func splitFamily(name string, series, samplesEach int) metric.Family {
	f := metric.Family{Name: name, Help: "help of " + name, Type: model.MetricTypeGauge}
	for i := range series {
		for j := range samplesEach {
			f.Samples = append(f.Samples, metric.Sample{
				Labels: labels.FromStrings("__name__", name, "i", strconv.Itoa(i), "zone", "z"+strconv.Itoa(i%3)),
				Value:  float64(i*100 + j), T: int64(1000 * (j + 1)),
			})
		}
	}
	return f
}

// TestSplit: halves hold the body's samples in order, each once, down to a
// single sample; a 2.0 half carries only the symbols it uses.
func TestSplit(t *testing.T) {
	for _, msg := range []string{config.WriteRequestV1, config.WriteRequestV2} {
		for _, tc := range []struct {
			name          string
			series, each  int
			splittable    bool
			wantHalfBytes bool // each half smaller than the whole
		}{
			{"many series", 9, 1, true, true},
			{"one series, many samples", 1, 5, true, false},
			{"one sample", 1, 1, false, false},
		} {
			t.Run(msg+"/"+tc.name, func(t *testing.T) {
				f := splitFamily("m", tc.series, tc.each)
				b := &batch{meta: []prompb.MetricMetadata{metadataOf(&f)}}
				for _, s := range f.Samples {
					b.add(&f, s.Labels, s.Value, s.T, s.Extra)
				}
				body := formats[msg].encode(b)
				whole, _ := seriesOf(t, msg, body)
				halves, ok, err := split(msg, body)
				if err != nil {
					t.Fatal(err)
				}
				if ok != tc.splittable {
					t.Fatalf("split ok = %v, want %v", ok, tc.splittable)
				}
				if !ok {
					return
				}
				var got []string
				for _, h := range halves {
					s, _ := seriesOf(t, msg, h.body)
					if h.samples != len(s) || len(s) == 0 {
						t.Errorf("half says %d samples, holds %d", h.samples, len(s))
					}
					got = append(got, s...)
					if tc.wantHalfBytes && len(h.body) >= len(body) {
						t.Errorf("half of %d bytes, whole %d: a 413 asks for fewer bytes", len(h.body), len(body))
					}
				}
				if strings.Join(got, "\n") != strings.Join(whole, "\n") {
					t.Errorf("halves hold\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(whole, "\n"))
				}
			})
		}
	}
}

// mimirLike answers like a Mimir tenant with a small burst: a request of
// more items (samples and metadata) than the burst gets 429 with Mimir's
// text, for ever; others are stored. too413 refuses bodies over that many
// bytes with 413 instead.
type mimirLike struct {
	burst  int
	too413 int

	mu       sync.Mutex
	got      []string // labels@t=v in arrival order
	refused  int
	accepted int
}

func (m *mimirLike) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	msg := config.WriteRequestV1
	if strings.Contains(r.Header.Get("Content-Type"), config.WriteRequestV2) {
		msg = config.WriteRequestV2
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.too413 > 0 && len(body) > m.too413 {
		m.refused++
		http.Error(w, "request body too large", http.StatusRequestEntityTooLarge)
		return
	}
	if n := items(msg, body); m.burst > 0 && n > m.burst {
		m.refused++
		w.Header().Set("Retry-After", "0")
		// Mimir's two wordings: a request over the burst (seen from a
		// real Mimir), and the rate limit that names the burst.
		text := fmt.Sprintf("the request has been rejected because the tenant exceeded the ingestion burst size limit, set to %d, with %d items. This limit is applied on the total number of samples, exemplars and metadata received across all distributors (err-mimir-tenant-max-ingestion-rate)", m.burst, n)
		if m.refused%2 == 0 {
			text = fmt.Sprintf("the request has been rejected because the tenant exceeded the ingestion rate limit, set to 1000 items/s with a maximum allowed burst of %d. This limit is applied on the total number of samples, exemplars and metadata received across all distributors (err-mimir-tenant-max-ingestion-rate)", m.burst)
		}
		http.Error(w, text, http.StatusTooManyRequests)
		return
	}
	raw, err := snappy.Decode(nil, body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	series := decodeAny(msg, raw)
	m.got = append(m.got, series...)
	m.accepted++
	if msg == config.WriteRequestV2 {
		w.Header().Set("X-Prometheus-Remote-Write-Samples-Written", strconv.Itoa(len(series)))
	}
	w.WriteHeader(http.StatusNoContent)
}

func decodeAny(msg string, raw []byte) []string {
	body := snappy.Encode(nil, raw)
	if msg == config.WriteRequestV2 {
		b, err := v2ToV1(body)
		if err != nil {
			return nil
		}
		body = b
	}
	raw, _ = snappy.Decode(nil, body)
	var req prompb.WriteRequest
	if req.Unmarshal(raw) != nil {
		return nil
	}
	var out []string
	for _, ts := range req.Timeseries {
		for _, s := range ts.Samples {
			out = append(out, fmt.Sprintf("%s@%d=%g", labelString(ts.Labels), s.Timestamp, s.Value))
		}
	}
	return out
}

// TestSplitDelivers: batches the receiver can never take whole (over the
// tenant's burst, or over its body size) arrive in pieces, every sample
// once and each series in time order, through the spool too, which is
// empty afterwards.
func TestSplitDelivers(t *testing.T) {
	for _, msg := range []string{config.WriteRequestV1, config.WriteRequestV2} {
		for _, tc := range []struct {
			name string
			rc   *mimirLike
		}{
			{"429 over the burst", &mimirLike{burst: 7}},
			{"413", &mimirLike{too413: 120}},
		} {
			for _, spooled := range []bool{false, true} {
				t.Run(fmt.Sprintf("%s/%s/spool=%v", msg, tc.name, spooled), func(t *testing.T) {
					rc := &mimirLike{burst: tc.rc.burst, too413: tc.rc.too413}
					srv := httptest.NewServer(rc)
					defer srv.Close()
					cfg := testConfig(t, srv.URL, func(c *config.RemoteWriteConfig) {
						c.ProtobufMessage = msg
						c.QueueConfig.MaxSamplesPerSend = 40
						c.QueueConfig.MaxShards = 2
						c.QueueConfig.MinBackoff, c.QueueConfig.MaxBackoff = md(time.Millisecond), md(10*time.Millisecond)
					})
					var logs bytes.Buffer
					cl := newTestClient(t, cfg, &logs)
					var q *spool.Queue
					if spooled {
						q = withSpool(t, cl)
					}
					fams := []metric.Family{splitFamily("a", 30, 2), splitFamily("b", 17, 1)}
					ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
					defer cancel()
					rep := pushtest.Deliver(ctx, cl, push.Options{}, []metric.Group{{Families: fams}})

					want := 30*2 + 17
					if rep.Sent != want || rep.DroppedTotal() != 0 || rep.Err != nil {
						t.Fatalf("sent %d dropped %v err %v, want %d sent", rep.Sent, rep.Dropped, rep.Err, want)
					}
					rc.mu.Lock()
					defer rc.mu.Unlock()
					if rc.refused == 0 {
						t.Fatal("the receiver refused nothing: the test does not test splitting")
					}
					seen := map[string]bool{}
					last := map[string]int64{}
					for _, s := range rc.got {
						if seen[s] {
							t.Errorf("%s arrived twice", s)
						}
						seen[s] = true
						series, at, _ := strings.Cut(s, "@")
						ts, _ := strconv.ParseInt(strings.Split(at, "=")[0], 10, 64)
						if ts < last[series] {
							t.Errorf("%s arrived after t=%d: out of order", s, last[series])
						}
						last[series] = ts
					}
					if len(seen) != want {
						t.Errorf("receiver holds %d samples, want %d", len(seen), want)
					}
					if !strings.Contains(logs.String(), "sending it in halves") {
						t.Errorf("the split is not logged:\n%s", logs.String())
					}
					if q != nil {
						if st := q.Stats(); st.Records != 0 {
							t.Errorf("spool holds %d records after everything arrived", st.Records)
						}
					}
				})
			}
		}
	}
}

// TestSplitAfter429s: a receiver that answers a big request 429 without
// saying why, while it takes the smaller requests of the same destination,
// gets the big one in halves; one that refuses everything is only retried.
func TestSplitAfter429s(t *testing.T) {
	var bigSeen atomic.Bool
	arrived := make(chan struct{})
	rc := &mimirLike{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if items(config.WriteRequestV1, body) > 10 {
			if bigSeen.CompareAndSwap(false, true) {
				close(arrived)
			}
			http.Error(w, "slow down", http.StatusTooManyRequests)
			return
		}
		// The small request waits until the big one was tried once,
		// so that it is accepted while the big one is being refused.
		<-arrived
		r.Body = io.NopCloser(bytes.NewReader(body))
		rc.ServeHTTP(w, r)
	}))
	defer srv.Close()
	cfg := testConfig(t, srv.URL, func(c *config.RemoteWriteConfig) {
		c.QueueConfig.MaxSamplesPerSend = 30
		c.QueueConfig.MaxShards = 2
		c.QueueConfig.MinBackoff, c.QueueConfig.MaxBackoff = md(time.Millisecond), md(5*time.Millisecond)
	})
	var logs bytes.Buffer
	cl := newTestClient(t, cfg, &logs)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	// "big" fills one shard's batch with 30 samples; the small family
	// starts on the other shard (a family starts at a shard picked by its
	// name's hash), so it is sent while big is refused.
	small := "small"
	for i := 0; xxhash.Sum64String(small)%2 == xxhash.Sum64String("big")%2; i++ {
		small = "small" + strconv.Itoa(i)
	}
	fams := []metric.Family{splitFamily("big", 30, 1), splitFamily(small, 5, 1)}
	rep := pushtest.Deliver(ctx, cl, push.Options{}, []metric.Group{{Families: fams}})
	if rep.Sent != 35 || rep.DroppedTotal() != 0 {
		t.Fatalf("sent %d dropped %v (%v), want 35 sent\n%s", rep.Sent, rep.Dropped, rep.Err, logs.String())
	}
	if !strings.Contains(logs.String(), "429 in a row while other requests were accepted") {
		t.Errorf("split not logged with its reason:\n%s", logs.String())
	}

	// Everything refused: the tenant is over its rate, not the request
	// over its burst. Retried until the budget ends, never split.
	all := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "slow down", http.StatusTooManyRequests)
	}))
	defer all.Close()
	logs.Reset()
	cl = newTestClient(t, testConfig(t, all.URL, func(c *config.RemoteWriteConfig) {
		c.QueueConfig.MaxSamplesPerSend = 30
		c.QueueConfig.MinBackoff, c.QueueConfig.MaxBackoff = md(time.Millisecond), md(5*time.Millisecond)
	}), &logs)
	ctx, cancel = context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	rep = pushtest.Deliver(ctx, cl, push.Options{}, []metric.Group{{Families: fams}})
	if rep.Sent != 0 || rep.Retried == 0 || strings.Contains(logs.String(), "halves") {
		t.Errorf("a receiver refusing everything: sent %d retried %d, want only retries\n%s", rep.Sent, rep.Retried, logs.String())
	}
}

// TestSplitDownToOneSample: a receiver that refuses every body with 413
// gets the batch, its halves, and no more: a single sample's 413 is final.
// One that answers a single sample 429 for ever, with the burst, gets it
// retried with growing Retry-Attempt, never split.
func TestSplitDownToOneSample(t *testing.T) {
	var (
		mu       sync.Mutex
		attempts []string
	)
	record := func(r *http.Request) {
		mu.Lock()
		attempts = append(attempts, r.Header.Get("Retry-Attempt"))
		mu.Unlock()
	}
	tooLarge := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		record(r)
		http.Error(w, "request body too large", http.StatusRequestEntityTooLarge)
	}))
	defer tooLarge.Close()
	cl := newTestClient(t, testConfig(t, tooLarge.URL, func(c *config.RemoteWriteConfig) { c.QueueConfig.MaxShards = 1 }), nil)
	rep := pushtest.Deliver(t.Context(), cl, push.Options{}, []metric.Group{{Families: []metric.Family{splitFamily("m", 2, 1)}}})
	if rep.Dropped["http_413"] != 2 || rep.Sent != 0 || len(attempts) != 3 {
		t.Errorf("413 for everything: %+v after %d requests, want 2 dropped as http_413 after 3 (the batch and its halves)", rep, len(attempts))
	}

	attempts = nil
	burst := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		record(r)
		http.Error(w, "the request has been rejected because the tenant exceeded the ingestion burst size limit, set to 0, with 1 items", http.StatusTooManyRequests)
	}))
	defer burst.Close()
	var logs bytes.Buffer
	cl = newTestClient(t, testConfig(t, burst.URL, func(c *config.RemoteWriteConfig) {
		c.QueueConfig.MinBackoff, c.QueueConfig.MaxBackoff = md(time.Millisecond), md(time.Millisecond)
	}), &logs)
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	pushtest.Deliver(ctx, cl, push.Options{}, []metric.Group{{Families: []metric.Family{splitFamily("m", 1, 1)}}})
	mu.Lock()
	defer mu.Unlock()
	if len(attempts) < 3 || strings.Contains(logs.String(), "halves") {
		t.Fatalf("%d attempts, log:\n%s\nwant retries and no split", len(attempts), logs.String())
	}
	for i, a := range attempts {
		if want := map[bool]string{true: "", false: strconv.Itoa(i)}[i == 0]; a != want {
			t.Errorf("attempt %d: Retry-Attempt %q, want %q", i, a, want)
		}
	}
}
