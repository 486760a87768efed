// Command ksmgen writes a deterministic kube-state-metrics-shaped exposition
// of N samples to standard output, for benchmarks:
//
//	go run ./hack/ksmgen 1000000 > ksm.prom
package main

import (
	"bufio"
	"fmt"
	"os"
	"strconv"

	"github.com/liftpush/liftpush/internal/testinfra/ksmgen"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: ksmgen SAMPLES > file.prom")
		os.Exit(2)
	}
	n, err := strconv.Atoi(os.Args[1])
	if err != nil {
		fmt.Fprintf(os.Stderr, "ksmgen: SAMPLES %q: %v\n", os.Args[1], err)
		os.Exit(2)
	}
	w := bufio.NewWriterSize(os.Stdout, 1<<20)
	if _, err := ksmgen.Write(w, n); err != nil {
		fmt.Fprintln(os.Stderr, "ksmgen:", err)
		os.Exit(1)
	}
	if err := w.Flush(); err != nil {
		fmt.Fprintln(os.Stderr, "ksmgen:", err)
		os.Exit(1)
	}
}
