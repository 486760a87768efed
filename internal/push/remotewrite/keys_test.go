package remotewrite

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/liftpush/liftpush/internal/config"
	"github.com/liftpush/liftpush/internal/metric"
	"github.com/liftpush/liftpush/internal/push"
	"github.com/liftpush/liftpush/internal/push/pushtest"
	"github.com/liftpush/liftpush/internal/testinfra"
)

// gauges returns n one-sample gauge families g0..g(n-1) at t.
func gauges(n int, t int64) []metric.Group {
	var fs []metric.Family
	for i := range n {
		name := fmt.Sprintf("g%d", i)
		fs = append(fs, metric.Family{Name: name, Help: "help of " + name, Type: model.MetricTypeGauge, Samples: []metric.Sample{
			{Labels: labels.FromStrings("__name__", name), Value: float64(i), T: t},
		}})
	}
	return []metric.Group{{Families: fs}}
}

// metadataNames lists the metadata of each request, in order.
func metadataNames(reqs []received) [][]string {
	var out [][]string
	for _, r := range reqs {
		var names []string
		for _, m := range r.req.Metadata {
			names = append(names, m.MetricFamilyName)
		}
		out = append(out, names)
	}
	return out
}

// TestMetadataConfig: 1.0 metadata goes with the first delivery, then with
// the first one send_interval later; max_samples_per_send bounds it per
// request; send: false sends none, in 1.0 or 2.0.
func TestMetadataConfig(t *testing.T) {
	now := time.Now().UnixMilli()
	// In a synctest bubble: send_interval is measured on its clock.
	t.Run("send_interval", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			// The bubble's clock starts in 2000: samples stamped by the
			// real clock would be in its future (out_of_bounds).
			now := time.Now().UnixMilli()
			rc := &receiver{}
			srv := testinfra.NewPipeServer(t, rc)
			cfg := testConfig(t, srv.URL, func(c *config.RemoteWriteConfig) {
				c.QueueConfig.MaxShards = 1
				c.MetadataConfig.SendInterval = md(time.Minute)
				c.MetadataConfig.MaxSamplesPerSend = 2
			})
			cl := newTestClient(t, cfg, nil)
			cl.wc.(*httpClient).client.Transport = srv.Transport()
			deliver := func() []received {
				t.Helper()
				before := len(rc.all())
				if rep := pushtest.Deliver(t.Context(), cl, push.Options{}, gauges(3, now)); rep.Err != nil || rep.Sent != 3 {
					t.Fatalf("report %+v", rep)
				}
				return rc.all()[before:]
			}
			// Three families, two metadata a request at most.
			if diff := cmp.Diff([][]string{{"g0", "g1"}, {"g2"}}, metadataNames(deliver())); diff != "" {
				t.Errorf("first delivery, metadata per request (-want +got):\n%s", diff)
			}
			time.Sleep(30 * time.Second)
			if diff := cmp.Diff([][]string{nil}, metadataNames(deliver())); diff != "" {
				t.Errorf("30s later, metadata per request (-want +got):\n%s", diff)
			}
			// A cycle of one minute, a little early, still sends it.
			time.Sleep(25 * time.Second)
			if diff := cmp.Diff([][]string{{"g0", "g1"}, {"g2"}}, metadataNames(deliver())); diff != "" {
				t.Errorf("55s after the last metadata (-want +got):\n%s", diff)
			}
		})
	})
	t.Run("send false v1", func(t *testing.T) {
		rc := &receiver{}
		srv := httptest.NewServer(rc)
		defer srv.Close()
		cl := newTestClient(t, testConfig(t, srv.URL, func(c *config.RemoteWriteConfig) { c.MetadataConfig.Send = false }), nil)
		pushtest.Deliver(t.Context(), cl, push.Options{}, gauges(3, now))
		for _, r := range rc.all() {
			if len(r.req.Metadata) > 0 {
				t.Errorf("send: false, yet metadata sent: %v", r.req.Metadata)
			}
		}
	})
	t.Run("send false v2", func(t *testing.T) {
		rc := &v2Receiver{t: t}
		srv := httptest.NewServer(rc)
		defer srv.Close()
		cl := newTestClient(t, testConfig(t, srv.URL, func(c *config.RemoteWriteConfig) {
			c.ProtobufMessage = config.WriteRequestV2
			c.MetadataConfig.Send = false
		}), nil)
		if rep := pushtest.Deliver(t.Context(), cl, push.Options{}, gauges(3, now)); rep.Sent != 3 {
			t.Fatalf("report %+v", rep)
		}
		for _, s := range rc.series {
			if s.Type != 0 || s.Help != "" {
				t.Errorf("send: false, yet series %s carries metadata %v %q", s.Labels, s.Type, s.Help)
			}
		}
	})
}

// TestSampleAgeLimit: fresh samples past the limit are dropped as too_old,
// and so are those of a spooled record replayed after it aged past it; a
// record left with no sample leaves the spool.
func TestSampleAgeLimit(t *testing.T) {
	// In a synctest bubble: the records age an hour on its clock.
	synctest.Test(t, func(t *testing.T) {
		g := &gate{}
		g.mode.Store("up")
		srv := testinfra.NewPipeServer(t, g)
		cfg := testConfig(t, srv.URL, func(c *config.RemoteWriteConfig) {
			c.QueueConfig.SampleAgeLimit = md(time.Hour)
			c.QueueConfig.MaxSamplesPerSend = 2
			c.QueueConfig.MaxShards = 1
			// The bubble's clock moves only by the waits: 1 ns backoffs would
			// take 200 million retries to use up a 200 ms budget.
			c.QueueConfig.MinBackoff, c.QueueConfig.MaxBackoff = md(10*time.Millisecond), md(10*time.Millisecond)
		})
		cl := newTestClient(t, cfg, nil)
		cl.wc.(*httpClient).client.Transport = srv.Transport()
		withSpool(t, cl)

		now := time.Now().UnixMilli()
		old := time.Now().Add(-2 * time.Hour).UnixMilli()
		groups := func(ts ...int64) []metric.Group {
			f := metric.Family{Name: "g", Type: model.MetricTypeGauge}
			for i, t := range ts {
				f.Samples = append(f.Samples, metric.Sample{Labels: labels.FromStrings("__name__", "g", "i", fmt.Sprint(i)), Value: 1, T: t})
			}
			return []metric.Group{{Families: []metric.Family{f}}}
		}

		rep := pushtest.Deliver(t.Context(), cl, push.Options{}, groups(now, old, now))
		if rep.Sent != 2 || rep.Dropped[dropTooOld] != 1 {
			t.Errorf("fresh delivery: %+v, want 2 sent and 1 dropped as too_old", rep)
		}

		// Down: four samples of now, in two records, wait in the spool.
		g.mode.Store("down")
		ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
		rep = pushtest.Deliver(ctx, cl, push.Options{}, groups(now, now, now-1000, now))
		cancel()
		if rep.Spooled != 4 {
			t.Fatalf("while down: %+v, want 4 spooled", rep)
		}
		// An hour after now, the sample at now-1s is past the limit, the
		// others just not: one record loses a sample, the other none. (The
		// bubble's clock also moved by the 200 ms budget above.)
		time.Sleep(time.Until(time.UnixMilli(now).Add(time.Hour)))
		g.mode.Store("up")
		before := len(g.rc.all())
		fresh := time.Now().UnixMilli()
		rep = pushtest.Deliver(t.Context(), cl, push.Options{}, groups(fresh))
		if rep.Replayed != 3 || rep.Sent != 1 || rep.Dropped[dropTooOld] != 1 || rep.Err != nil {
			t.Errorf("replay an hour later: %+v, want 3 replayed, 1 sent, 1 dropped as too_old", rep)
		}
		var got []int64
		for _, r := range g.rc.all()[before:] {
			for _, ts := range r.req.Timeseries {
				for _, s := range ts.Samples {
					got = append(got, s.Timestamp)
				}
			}
		}
		if diff := cmp.Diff([]int64{now, now, now, fresh}, got); diff != "" {
			t.Errorf("timestamps received (-want +got):\n%s", diff)
		}

		// Down again, and back after two hours: the whole record is too
		// old and leaves the spool unsent.
		g.mode.Store("down")
		ctx, cancel = context.WithTimeout(t.Context(), 200*time.Millisecond)
		pushtest.Deliver(ctx, cl, push.Options{}, groups(fresh))
		cancel()
		time.Sleep(2 * time.Hour)
		g.mode.Store("up")
		rep = pushtest.Deliver(t.Context(), cl, push.Options{}, nil)
		if rep.Replayed != 0 || rep.Dropped[dropTooOld] != 1 {
			t.Errorf("replay two hours later: %+v, want 1 dropped as too_old, nothing replayed", rep)
		}
		if st := cl.Stats().Spool; st.Records != 0 {
			t.Errorf("spool holds %d records, want 0", st.Records)
		}
	})
}

// TestDropOldV2 trims a 2.0 body as the 1.0 one.
func TestDropOldV2(t *testing.T) {
	b := &batch{}
	fam := &metric.Family{Name: "g", Help: "h", Type: model.MetricTypeGauge}
	b.add(fam, labels.FromStrings("__name__", "g", "a", "1"), 1, 1000, nil)
	b.add(fam, labels.FromStrings("__name__", "g", "a", "2"), 2, 3000, nil)
	body := append([]byte(nil), encodeV2(b)...)
	out, n, err := dropOld(body, config.WriteRequestV2, 2000)
	if err != nil || n != 1 {
		t.Fatalf("dropOld = %d, %v; want 1 dropped", n, err)
	}
	v1, err := v2ToV1(out)
	if err != nil {
		t.Fatal(err)
	}
	desc, err := describeRequest(v1, config.WriteRequestV1)
	if err != nil {
		t.Fatal(err)
	}
	if want := "{__name__=\"g\",a=\"2\"} 2@3000\n1 series, 1 metadata"; desc != want {
		t.Errorf("after dropOld:\n%s\nwant:\n%s", desc, want)
	}
}

// TestFailedRequestLogging: with failed_request_logging, a refused request
// is logged at debug level with its series; without, it is not.
func TestFailedRequestLogging(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// A 400 without a reason liftpush names (out_of_order, too_old).
		http.Error(w, "bad labels", http.StatusBadRequest)
	}))
	defer srv.Close()
	for _, on := range []bool{true, false} {
		for _, msg := range []string{config.WriteRequestV1, config.WriteRequestV2} {
			var logs bytes.Buffer
			cl := newTestClient(t, testConfig(t, srv.URL, func(c *config.RemoteWriteConfig) {
				c.LogFailedRequests = on
				c.ProtobufMessage = msg
			}), &logs)
			rep := pushtest.Deliver(t.Context(), cl, push.Options{}, gauges(2, time.Now().UnixMilli()))
			if rep.Dropped["http_400"] != 2 {
				t.Fatalf("report %+v, want 2 dropped as http_400", rep)
			}
			logged := strings.Contains(logs.String(), "failed to send remote write request")
			if logged != on {
				t.Errorf("failed_request_logging: %v, %s: logged = %v\n%s", on, msg, logged, logs.String())
			}
			if on && !strings.Contains(logs.String(), `{__name__=\"g1\"} 1@`) {
				t.Errorf("%s: the log lacks the series:\n%s", msg, logs.String())
			}
		}
	}
}
