// Package kubeapi runs a real etcd and kube-apiserver for tests: no
// controller-manager, no scheduler, no nodes. Objects are created through
// the API; Deployment status is set through the status subresource, since
// no controller would ever fill it in.
//
// The apiserver authenticates with a static token file (the admin token is
// in group system:masters) and authorizes with RBAC, so tests can also act
// as a ServiceAccount with limited rights.
package kubeapi

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/liftpush/liftpush/internal/testinfra"
)

const (
	adminToken   = "liftpush-test-admin-token"
	startTimeout = 90 * time.Second // 2-4 s on an idle machine; CI shares cores
)

// Server is a running etcd + kube-apiserver pair. Its clients act as a
// cluster admin. Safe for concurrent use by tests once started.
type Server struct {
	// URL is the apiserver's https URL on 127.0.0.1.
	URL string
	// CAFile holds the apiserver's self-signed serving certificate.
	CAFile string
	// Kubeconfig is a kubeconfig file for the admin user.
	Kubeconfig string
	// Config, Clientset and Dynamic act as the admin user. Their client-side
	// rate limit is raised for bulk creation.
	Config    *rest.Config
	Clientset kubernetes.Interface
	Dynamic   dynamic.Interface

	dir      string
	etcdData string
	procs    []*exec.Cmd
}

// Start runs a fresh apiserver for tb and stops it in tb.Cleanup. It skips
// the test when the binaries are missing, or fails it when CI=true.
func Start(tb testing.TB) *Server {
	tb.Helper()
	apiserver, etcd := requireBinaries(tb)
	s, err := start(tb.TempDir(), apiserver, etcd)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(s.Stop)
	return s
}

var shared struct {
	once sync.Once
	srv  *Server
	err  error
	dir  string
}

// Shared returns one apiserver per test binary, started by the first
// caller: starting one costs seconds, so a package's tests share it and
// keep apart by namespace. Call StopShared from TestMain after m.Run.
func Shared(tb testing.TB) *Server {
	tb.Helper()
	apiserver, etcd := requireBinaries(tb)
	shared.once.Do(func() {
		shared.dir, shared.err = os.MkdirTemp("", "liftpush-kubeapi-")
		if shared.err == nil {
			shared.srv, shared.err = start(shared.dir, apiserver, etcd)
		}
	})
	if shared.err != nil {
		tb.Fatal(shared.err)
	}
	return shared.srv
}

// StopShared stops the server Shared started, if any, and removes its files.
func StopShared() {
	if shared.srv != nil {
		shared.srv.Stop()
	}
	if shared.dir != "" {
		_ = os.RemoveAll(shared.dir)
	}
}

func start(dir, apiserverBin, etcdBin string) (s *Server, err error) {
	s = &Server{dir: dir}
	defer func() {
		if err != nil {
			s.Stop()
		}
	}()
	// etcd fsyncs every write; on tmpfs that is free, which matters when a
	// test creates thousands of objects. etcd 3.4 has no --unsafe-no-fsync.
	s.etcdData, err = os.MkdirTemp(shmOr(dir), "liftpush-etcd-")
	if err != nil {
		return s, fmt.Errorf("etcd data dir: %w", err)
	}
	ports, err := freePorts(3)
	if err != nil {
		return s, err
	}
	etcdClient := fmt.Sprintf("http://127.0.0.1:%d", ports[0])
	etcdPeer := fmt.Sprintf("http://127.0.0.1:%d", ports[1])
	if err := s.run(etcdBin, "etcd.log",
		"--name=liftpush-test", "--data-dir="+s.etcdData,
		"--listen-client-urls="+etcdClient, "--advertise-client-urls="+etcdClient,
		"--listen-peer-urls="+etcdPeer, "--initial-advertise-peer-urls="+etcdPeer,
		"--initial-cluster=liftpush-test="+etcdPeer, "--log-level=warn",
	); err != nil {
		return s, err
	}
	if err := waitFor(etcdClient+"/health", "", `"health":"true"`, filepath.Join(dir, "etcd.log")); err != nil {
		return s, fmt.Errorf("etcd: %w", err)
	}

	saKey := filepath.Join(dir, "sa.key")
	if err := writeServiceAccountKey(saKey); err != nil {
		return s, err
	}
	tokens := filepath.Join(dir, "tokens.csv")
	if err := os.WriteFile(tokens, []byte(adminToken+",admin,admin-uid,system:masters\n"), 0o600); err != nil {
		return s, err
	}
	certDir := filepath.Join(dir, "certs")
	s.URL = fmt.Sprintf("https://127.0.0.1:%d", ports[2])
	if err := s.run(apiserverBin, "kube-apiserver.log",
		"--etcd-servers="+etcdClient,
		"--bind-address=127.0.0.1", "--advertise-address=127.0.0.1",
		fmt.Sprintf("--secure-port=%d", ports[2]), "--cert-dir="+certDir,
		"--service-account-issuer=https://kubernetes.default.svc",
		"--service-account-key-file="+saKey, "--service-account-signing-key-file="+saKey,
		"--service-cluster-ip-range=10.0.0.0/24",
		// No kubelet or endpoints: the reconciler would only log errors
		// about the loopback advertise address.
		"--endpoint-reconciler-type=none",
		"--token-auth-file="+tokens, "--anonymous-auth=false",
		"--authorization-mode=RBAC",
	); err != nil {
		return s, err
	}
	if err := waitFor(s.URL+"/readyz", adminToken, "ok", filepath.Join(dir, "kube-apiserver.log")); err != nil {
		return s, fmt.Errorf("kube-apiserver: %w", err)
	}
	// The apiserver writes its self-signed certificate (with a 127.0.0.1
	// SAN) before serving; it doubles as the CA of our kubeconfigs.
	s.CAFile = filepath.Join(certDir, "apiserver.crt")
	if s.Kubeconfig, err = s.writeKubeconfig("admin", adminToken); err != nil {
		return s, err
	}
	s.Config = &rest.Config{
		Host:            s.URL,
		BearerToken:     adminToken,
		TLSClientConfig: rest.TLSClientConfig{CAFile: s.CAFile},
		QPS:             1000,
		Burst:           1000,
	}
	if s.Clientset, err = kubernetes.NewForConfig(s.Config); err != nil {
		return s, err
	}
	if s.Dynamic, err = dynamic.NewForConfig(s.Config); err != nil {
		return s, err
	}
	return s, nil
}

// WriteKubeconfig writes a kubeconfig that authenticates with token and
// returns its path. Tests use it to act as a ServiceAccount.
func (s *Server) WriteKubeconfig(tb testing.TB, name, token string) string {
	tb.Helper()
	p, err := s.writeKubeconfig(name, token)
	if err != nil {
		tb.Fatal(err)
	}
	return p
}

func (s *Server) writeKubeconfig(name, token string) (string, error) {
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["test"] = &clientcmdapi.Cluster{Server: s.URL, CertificateAuthority: s.CAFile}
	cfg.AuthInfos[name] = &clientcmdapi.AuthInfo{Token: token}
	cfg.Contexts["test"] = &clientcmdapi.Context{Cluster: "test", AuthInfo: name}
	cfg.CurrentContext = "test"
	p := filepath.Join(s.dir, "kubeconfig-"+name+".yaml")
	if err := clientcmd.WriteToFile(*cfg, p); err != nil {
		return "", fmt.Errorf("writing kubeconfig: %w", err)
	}
	return p, nil
}

// Stop terminates the apiserver, then etcd, and removes etcd's data.
func (s *Server) Stop() {
	for i := len(s.procs) - 1; i >= 0; i-- {
		p := s.procs[i]
		_ = p.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = p.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = p.Process.Kill()
			<-done
		}
	}
	s.procs = nil
	if s.etcdData != "" {
		_ = os.RemoveAll(s.etcdData)
	}
}

// Log returns the tail of a component's log ("etcd" or "kube-apiserver"),
// for test failure messages.
func (s *Server) Log(component string) string {
	return tail(filepath.Join(s.dir, component+".log"))
}

func (s *Server) run(bin, logName string, args ...string) error {
	logFile, err := os.Create(filepath.Join(s.dir, logName))
	if err != nil {
		return err
	}
	defer logFile.Close() // the child keeps its own descriptor
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	// Killed by the kernel when the test binary dies, so a test killed by
	// a timeout leaves no etcd or apiserver behind.
	cmd.SysProcAttr = testinfra.SysProcAttr()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting %s: %w", bin, err)
	}
	s.procs = append(s.procs, cmd)
	return nil
}

// waitFor polls url until its body contains want.
func waitFor(url, token, want, logPath string) error {
	client := &http.Client{
		Timeout: 2 * time.Second,
		// Readiness only: the serving certificate may not exist yet when
		// polling starts, and the port is our own child's.
		Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}, //nolint:gosec
	}
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	var last string
	for ctx.Err() == nil {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := client.Do(req)
		if err == nil {
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK && strings.Contains(string(body), want) {
				return nil
			}
			last = fmt.Sprintf("HTTP %d: %s", resp.StatusCode, body)
		} else {
			last = err.Error()
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("not ready after %s (last answer: %s); log:\n%s", startTimeout, last, tail(logPath))
}

func tail(p string) string {
	b, err := os.ReadFile(p)
	if err != nil {
		return err.Error()
	}
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

func freePorts(n int) ([]int, error) {
	var ports []int
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	// Held open together so the kernel hands out n distinct ports.
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("finding a free port: %w", err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

func shmOr(dir string) string {
	if st, err := os.Stat("/dev/shm"); err == nil && st.IsDir() {
		removeStaleEtcdData("/dev/shm")
		if f, err := os.CreateTemp("/dev/shm", "liftpush-probe-"); err == nil {
			f.Close()
			os.Remove(f.Name())
			return "/dev/shm"
		}
	}
	return dir
}

func writeServiceAccountKey(path string) error {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return fmt.Errorf("service account key: %w", err)
	}
	der := x509.MarshalPKCS1PrivateKey(key)
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: der})
	if pemBytes == nil {
		return errors.New("service account key: PEM encoding failed")
	}
	return os.WriteFile(path, pemBytes, 0o600)
}

// removeStaleEtcdData deletes etcd data dirs left in shm by test binaries
// that were killed before their cleanup ran: tmpfs is memory. A day old is
// surely not a test still running.
func removeStaleEtcdData(shm string) {
	old, _ := filepath.Glob(filepath.Join(shm, "liftpush-etcd-*"))
	for _, d := range old {
		if st, err := os.Stat(d); err == nil && time.Since(st.ModTime()) > 24*time.Hour {
			_ = os.RemoveAll(d)
		}
	}
}
