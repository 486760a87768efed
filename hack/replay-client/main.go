// Command replay-client is the receiver-bound floor of make bench's P1b: a
// client that costs the receiver nothing to wait for. It parses an
// exposition file and encodes all of it into remote-write 1.0 requests
// before it starts the clock, then sends them over --concurrency
// connections as fast as the receiver answers, and prints the seconds the
// sending took:
//
//	replay-client --url=http://127.0.0.1:9090/api/v1/write --concurrency=4 ksm.prom
//
// It adds job="replay" to series without a job, as liftpush push adds its
// job, so the receiver stores the same number of labels.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/prompb"

	"github.com/liftpush/liftpush/internal/exposition"
	"github.com/liftpush/liftpush/internal/metric"
)

func main() {
	url := flag.String("url", "", "remote-write URL")
	concurrency := flag.Int("concurrency", 4, "requests in flight")
	batch := flag.Int("batch", 2000, "samples a request")
	flag.Parse()
	if *url == "" || flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: replay-client --url=URL [--concurrency=N] [--batch=N] FILE")
		os.Exit(2)
	}
	bodies, n, err := encode(flag.Arg(0), *batch)
	if err != nil {
		fmt.Fprintln(os.Stderr, "replay-client:", err)
		os.Exit(1)
	}
	start := time.Now()
	if err := send(*url, bodies, *concurrency); err != nil {
		fmt.Fprintln(os.Stderr, "replay-client:", err)
		os.Exit(1)
	}
	fmt.Printf("sent %d samples in %d requests in %.3f s\n", n, len(bodies), time.Since(start).Seconds())
}

// encode reads the file into snappy-compressed WriteRequests of batch
// samples each.
func encode(path string, batch int) (bodies [][]byte, n int, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	now := time.Now().UnixMilli()
	var req prompb.WriteRequest
	flush := func() {
		raw, _ := req.Marshal() // a built request always marshals
		bodies = append(bodies, snappy.Encode(nil, raw))
		req.Timeseries = req.Timeseries[:0]
	}
	opts := exposition.ParseOptions{HonorTimestamps: true, Default: labels.FromStrings("job", "replay")}
	_, err = exposition.ParseStream(f, exposition.ContentTypeText, opts, func(fam metric.Family) error {
		for _, s := range fam.Samples {
			var ls []prompb.Label
			s.Labels.Range(func(l labels.Label) { ls = append(ls, prompb.Label{Name: l.Name, Value: l.Value}) })
			t := s.T
			if t == 0 {
				t = now
			}
			req.Timeseries = append(req.Timeseries, prompb.TimeSeries{Labels: ls, Samples: []prompb.Sample{{Value: s.Value, Timestamp: t}}})
			n++
			if len(req.Timeseries) == batch {
				flush()
			}
		}
		return nil
	})
	if len(req.Timeseries) > 0 {
		flush()
	}
	return bodies, n, err
}

func send(url string, bodies [][]byte, concurrency int) error {
	work := make(chan []byte)
	errs := make(chan error, concurrency)
	var wg sync.WaitGroup
	for range concurrency {
		wg.Go(func() {
			for body := range work {
				if err := post(url, body); err != nil {
					errs <- err
					for range work { // drain, so the feeder ends
					}
					return
				}
			}
		})
	}
	for _, b := range bodies {
		work <- b
	}
	close(work)
	wg.Wait()
	close(errs)
	return <-errs
}

// client keeps a connection per request in flight.
var client = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}

func post(url string, body []byte) error {
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Encoding", "snappy")
	req.Header.Set("Content-Type", "application/x-protobuf")
	req.Header.Set("X-Prometheus-Remote-Write-Version", "0.1.0")
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s: %s", resp.Status, msg)
	}
	return nil
}
