package spacelift

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	commoncfg "github.com/prometheus/common/config"

	"github.com/liftpush/liftpush/internal/config"
)

// stub answers the token exchange properly and every query with body.
type stub struct{ body []byte }

func (s stub) RoundTrip(req *http.Request) (*http.Response, error) {
	in, _ := io.ReadAll(req.Body)
	out := s.body
	if bytes.Contains(in, []byte("apiKeyUser")) {
		out = []byte(`{"data":{"apiKeyUser":{"jwt":"a.b.c","validUntil":4102444800}}}`)
	}
	return &http.Response{StatusCode: 200, Status: "200 OK", Header: http.Header{}, Body: io.NopCloser(bytes.NewReader(out)), Request: req}, nil
}

func stubCollector(t testing.TB, body []byte) *Collector {
	t.Helper()
	cfg := config.DefaultSpaceliftConfig
	cfg.Endpoint = "https://acme.app.spacelift.io"
	cfg.APIKeyID = "id"
	cfg.APIKeySecret = commoncfg.Secret("secret")
	c, err := New(&cfg, nil, "liftpush/test")
	if err != nil {
		t.Fatal(err)
	}
	c.setTransport(stub{body}, "liftpush/test")
	return c
}

// Nulls where the schema says non-null, and wrong types, are errors that
// name the field; the valid rest is kept.
func TestDecodeViolations(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		want       []string
		pools      int
	}{
		{
			name:  "null field in one pool",
			body:  `{"data":{"workerPools":[{"id":"a","name":"a","pendingRuns":null,"busyWorkers":1,"schedulableRunsCount":0,"workers":[]},{"id":"b","name":"b","pendingRuns":2,"busyWorkers":1,"schedulableRunsCount":0,"workers":[]}],"usage":null,"publicWorkerPool":null,"metrics":null}}`,
			want:  []string{"null at workerPools.0.pendingRuns", "null at usage"},
			pools: 1,
		},
		{
			name: "wrong type",
			body: `{"data":{"workerPools":[{"id":"a","name":"a","pendingRuns":"many"}]}}`,
			want: []string{"cannot unmarshal string"},
		},
		{
			name: "data null, no errors",
			body: `{"data":null}`,
			want: []string{"neither data nor errors"},
		},
		{
			name: "not JSON",
			body: `<html>502 Bad Gateway</html>`,
			want: []string{"invalid character"},
		},
		{
			name:  "duplicate pool",
			body:  `{"data":{"workerPools":[{"id":"a","name":"a","pendingRuns":1,"busyWorkers":1,"schedulableRunsCount":0,"workers":[]},{"id":"a","name":"a2","pendingRuns":1,"busyWorkers":1,"schedulableRunsCount":0,"workers":[]}],"usage":null}}`,
			want:  []string{`worker pool id "a" appears twice`},
			pools: 1,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fams, err := stubCollector(t, []byte(tc.body)).Collect(context.Background())
			if err == nil {
				t.Fatal("want an error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if got := familyNames(fams)["spacelift_worker_pool_runs_pending"]; got != tc.pools {
				t.Errorf("%d pools kept, want %d", got, tc.pools)
			}
		})
	}
}

// FuzzDecodeResponse feeds arbitrary answers to the whole decoding path
// (transport, shurcooL/graphql, null checks, families). It must return an
// error or data, never panic.
func FuzzDecodeResponse(f *testing.F) {
	for _, seed := range []string{
		`{"data":{"publicWorkerPool":{"parallelism":1,"busyWorkers":0,"pendingRuns":0,"schedulableRunsCount":0},"workerPools":[{"id":"a","name":"n","pendingRuns":1,"busyWorkers":0,"schedulableRunsCount":0,"workers":[{"busy":false,"drained":true}]}],"usage":{"billingPeriodStart":1,"billingPeriodEnd":2,"usedPrivateMinutes":3,"usedPublicMinutes":4,"usedSeats":5,"usedWorkers":6,"allowedMinutes":7,"allowedSeats":8},"metrics":{"stacksCountByState":[{"value":1,"labels":["FINISHED"]}],"resourcesCountByDrift":[],"avgStackSizeByResourceCount":[{"value":2,"labels":[]}],"averageRunDuration":[],"medianRunDuration":[]}}}`,
		`{"data":null,"errors":[{"message":"not available for machine sessions","path":["usage"]}]}`,
		`{"errors":[{"message":"unauthorized"}]}`,
		`{"data":{"workerPools":[null,{"workers":[null]}]}}`,
		`{"data":{"workerPools":{"id":1}}}`,
		`{"data":{"metrics":{"stacksCountByState":[{"value":"x","labels":[null]}]}}}`,
		`{"data":{"usage":{"billingPeriodStart":1e400}}}`,
		`{"data":[1,2,3]}`,
		`{"errors":"boom"}`,
		`{"data":{"workerPools":[[[[]]]]}}`,
		`null`,
		`{`,
		``,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		c := stubCollector(t, body)
		fams, err := c.Collect(context.Background())
		if err == nil && len(fams) <= 2 && !bytes.Contains(bytes.ToLower(body), []byte("data")) && !bytes.Contains(body, []byte(`\u`)) {
			t.Fatalf("no error and no data for %q", body)
		}
		for _, fam := range fams {
			for _, s := range fam.Samples {
				if s.Labels.Get("__name__") != fam.Name {
					t.Fatalf("bad sample %s in %s", s.Labels, fam.Name)
				}
			}
		}
	})
}
