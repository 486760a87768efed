// Command p5target serves the scrape targets of make bench's P5 from one
// process: -targets listeners on 127.0.0.1, each a distinct host:port as
// Prometheus needs, each answering /metrics with -series series in the text
// format. It writes their addresses as a file_sd file, so that liftpush and
// Prometheus find the same targets the same way.
//
//	p5target -targets 200 -series 1000 -file-sd /tmp/targets.json
//
// The body of each target is rendered once at start: the bench measures the
// scrapers, not this server.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

func main() {
	targets := flag.Int("targets", 200, "listeners, one target each")
	series := flag.Int("series", 1000, "series per target")
	fileSD := flag.String("file-sd", "", "write the targets here as a file_sd JSON file (required)")
	flag.Parse()
	if *fileSD == "" || *targets < 1 || *series < 1 {
		log.Fatal("usage: p5target -targets N -series N -file-sd FILE")
	}
	var addrs []string
	for i := range *targets {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			log.Fatalf("listening: %v", err)
		}
		addrs = append(addrs, ln.Addr().String())
		body := []byte(render(i, *series))
		mux := http.NewServeMux()
		mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
			_, _ = w.Write(body)
		})
		go func() { log.Fatal(http.Serve(ln, mux)) }()
	}
	sd, err := json.Marshal([]map[string]any{{"targets": addrs, "labels": map[string]string{"bench": "p5"}}})
	if err != nil {
		log.Fatal(err)
	}
	// Written whole, then renamed: a scraper reading it early sees no file
	// rather than half of one.
	tmp := *fileSD + ".tmp"
	if err := os.WriteFile(tmp, sd, 0o644); err != nil {
		log.Fatal(err)
	}
	if err := os.Rename(tmp, *fileSD); err != nil {
		log.Fatal(err)
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	<-sig
}

// render is one target's exposition: a few families shaped like an
// exporter's (gauges and counters, 1-3 labels), series in all.
func render(target, series int) string {
	var b strings.Builder
	const perFamily = 50
	for f := 0; f*perFamily < series; f++ {
		name := fmt.Sprintf("p5_family_%02d", f)
		kind := "gauge"
		if f%2 == 1 {
			name += "_total"
			kind = "counter"
		}
		fmt.Fprintf(&b, "# HELP %s Synthetic family %d of the P5 bench.\n# TYPE %s %s\n", name, f, name, kind)
		for s := f * perFamily; s < min(series, (f+1)*perFamily); s++ {
			fmt.Fprintf(&b, "%s{shard=\"%d\",pod=\"pod-%d-%d\",code=\"%d\"} %d\n", name, s%8, target, s, 200+s%5, s*7+target)
		}
	}
	return b.String()
}
