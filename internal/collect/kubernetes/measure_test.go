package kubernetes

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/liftpush/liftpush/internal/config"
	"github.com/liftpush/liftpush/internal/testinfra"
	"github.com/liftpush/liftpush/internal/testinfra/kubeapi"
)

// Sizes of the scaling measurement: DESIGN.md section 8 wants 10,000
// Deployments to cost at most 11 times what 1,000 do, in time and memory.
var scalingSizes = []int{1000, 10000}

func benchNamespace(n int) string { return fmt.Sprintf("bench-%d", n) }

// setupScaling creates the benchmark Deployments once per shared apiserver.
func setupScaling(tb testing.TB) *kubeapi.Server {
	srv := kubeapi.Shared(tb)
	for _, n := range scalingSizes {
		start := time.Now()
		srv.CreateDeployments(tb, benchNamespace(n), n, 32)
		tb.Logf("%d Deployments in %s ready in %s", n, benchNamespace(n), time.Since(start).Round(time.Millisecond))
	}
	return srv
}

// BenchmarkCollect measures one Collect of 1,000 and 10,000 Deployments
// from the real apiserver, in process (time and allocations).
func BenchmarkCollect(b *testing.B) {
	srv := setupScaling(b)
	for _, n := range scalingSizes {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			c := newCollector(b, srv.Kubeconfig, func(cfg *config.KubernetesConfig) { cfg.Namespaces = []string{benchNamespace(n)} })
			b.ReportAllocs()
			for b.Loop() {
				fams, err := c.Collect(b.Context())
				if err != nil {
					b.Fatal(err)
				}
				if got := len(objectsOf(fams, "k8s_deployment_spec_replicas", "name")); got != n {
					b.Fatalf("collected %d deployments, want %d", got, n)
				}
			}
		})
	}
}

var (
	elapsedRe = regexp.MustCompile(`Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (?:(\d+):)?(\d+):([\d.]+)`)
	maxRSSRe  = regexp.MustCompile(`Maximum resident set size \(kbytes\): (\d+)`)
)

// TestMeasureScaling runs the liftpush binary (`liftpush collect`) under
// /usr/bin/time -v against 1,000 and 10,000 Deployments and reports wall
// time, peak RSS and their ratios: the whole-process view, including
// start-up and writing the exposition. Slow (creates 11,000 objects), so
// it only runs with LIFTPUSH_KUBE_MEASURE=1; hack/measure-kubernetes.sh
// sets it.
func TestMeasureScaling(t *testing.T) {
	if os.Getenv("LIFTPUSH_KUBE_MEASURE") != "1" {
		t.Skip("set LIFTPUSH_KUBE_MEASURE=1 (or run hack/measure-kubernetes.sh)")
	}
	timeBin := testinfra.RequireBinary(t, "/usr/bin/time", "apt-get install -y time")
	srv := setupScaling(t)
	bin := testinfra.Liftpush(t)
	const runs = 3
	type result struct {
		wall   time.Duration
		rssKiB int
	}
	results := map[int]result{}
	for _, n := range scalingSizes {
		var walls []time.Duration
		maxRSS := 0
		for range runs {
			cmd := exec.Command(timeBin, "-v", bin, "collect", "--log.level=warn",
				"--kubernetes.enabled", "--kubernetes.kubeconfig="+srv.Kubeconfig,
				"--kubernetes.namespace="+benchNamespace(n))
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if err := cmd.Run(); err != nil {
				t.Fatalf("%v: %v\n%s", cmd.Args, err, stderr.String())
			}
			if got := bytes.Count(stdout.Bytes(), []byte("\nk8s_deployment_spec_replicas{")); got != n {
				t.Fatalf("%d Deployments: output has %d k8s_deployment_spec_replicas series", n, got)
			}
			m := elapsedRe.FindStringSubmatch(stderr.String())
			r := maxRSSRe.FindStringSubmatch(stderr.String())
			if m == nil || r == nil {
				t.Fatalf("cannot parse /usr/bin/time output:\n%s", stderr.String())
			}
			h, _ := strconv.Atoi("0" + m[1])
			mins, _ := strconv.Atoi(m[2])
			secs, _ := strconv.ParseFloat(m[3], 64)
			walls = append(walls, time.Duration((float64(h*3600+mins*60)+secs)*float64(time.Second)))
			rss, _ := strconv.Atoi(r[1])
			maxRSS = max(maxRSS, rss)
		}
		slices.Sort(walls)
		results[n] = result{wall: walls[len(walls)/2], rssKiB: maxRSS}
		t.Logf("%6d Deployments: wall %s (median of %d), peak RSS %.1f MiB (max of %d)", n, results[n].wall, runs, float64(maxRSS)/1024, runs)
	}
	small, big := results[scalingSizes[0]], results[scalingSizes[1]]
	timeRatio := big.wall.Seconds() / small.wall.Seconds()
	rssRatio := float64(big.rssKiB) / float64(small.rssKiB)
	t.Logf("ratio 10k/1k: time %.2fx, peak RSS %.2fx (target: at most 11x each)", timeRatio, rssRatio)
	if timeRatio > 11 || rssRatio > 11 {
		t.Errorf("collection does not scale linearly: time %.2fx, RSS %.2fx for 10x the objects", timeRatio, rssRatio)
	}
}
