// Command decode-receiver is the remote-write receiver of make bench that
// only decodes: it snappy-decodes each prompb.WriteRequest, walks every
// field of it (walkWriteRequest), counts series and samples, and answers
// 204. It stores nothing and allocates nothing per series, so a client
// pushed into it pays only its own cost.
//
//	decode-receiver --listen=127.0.0.1:0 --addr-file=addr
//
// GET /count answers "SERIES SAMPLES REQUESTS BYTES"; POST /reset zeroes
// the counters. On SIGTERM or SIGINT it prints the counts and exits.
package main

import (
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/golang/snappy"
)

var (
	series, samples, requests, wire atomic.Int64
	bufs                            = sync.Pool{New: func() any { return new(buffers) }}
)

type buffers struct {
	body, raw []byte
}

func write(w http.ResponseWriter, r *http.Request) {
	b := bufs.Get().(*buffers)
	defer bufs.Put(b)
	var err error
	b.body, err = readAll(r.Body, b.body[:0])
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	n, err := snappy.DecodedLen(b.body)
	if err != nil {
		http.Error(w, "snappy: "+err.Error(), http.StatusBadRequest)
		return
	}
	if cap(b.raw) < n {
		b.raw = make([]byte, n)
	}
	b.raw, err = snappy.Decode(b.raw[:cap(b.raw)], b.body)
	if err != nil {
		http.Error(w, "snappy: "+err.Error(), http.StatusBadRequest)
		return
	}
	ns, s, err := walkWriteRequest(b.raw)
	if err != nil {
		http.Error(w, "protobuf: "+err.Error(), http.StatusBadRequest)
		return
	}
	series.Add(int64(ns))
	samples.Add(int64(s))
	requests.Add(1)
	wire.Add(int64(len(b.body)))
	w.WriteHeader(http.StatusNoContent)
}

func readAll(r io.Reader, buf []byte) ([]byte, error) {
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}

func counts() string {
	return fmt.Sprintf("%d %d %d %d", series.Load(), samples.Load(), requests.Load(), wire.Load())
}

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "address to listen on")
	addrFile := flag.String("addr-file", "", "write the address listened on to this file")
	flag.Parse()
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Fatal(err)
	}
	if *addrFile != "" {
		if err := os.WriteFile(*addrFile+".tmp", []byte(ln.Addr().String()), 0o644); err != nil {
			log.Fatal(err)
		}
		if err := os.Rename(*addrFile+".tmp", *addrFile); err != nil {
			log.Fatal(err)
		}
	}
	mux := http.NewServeMux()
	// Any path but the two below is a write endpoint: promtool appends
	// /api/v1/write, vmagent and liftpush use what they are given.
	mux.HandleFunc("/", write)
	mux.HandleFunc("GET /count", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, counts()) })
	mux.HandleFunc("POST /reset", func(w http.ResponseWriter, _ *http.Request) {
		series.Store(0)
		samples.Store(0)
		requests.Store(0)
		wire.Store(0)
		w.WriteHeader(http.StatusNoContent)
	})
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		<-sig
		fmt.Println(counts())
		os.Exit(0)
	}()
	log.Fatal(http.Serve(ln, mux))
}
