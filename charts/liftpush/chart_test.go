// Package chart tests the Helm chart in this directory: helm lint, the
// objects helm template renders for every ci/*-values.yaml scenario, and
// their acceptance by a real kube-apiserver. The package holds no code;
// .helmignore keeps the test out of the packaged chart.
package chart

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer/json"
	"k8s.io/apimachinery/pkg/util/intstr"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/kubernetes/scheme"

	"github.com/liftpush/liftpush/internal/config"
	"github.com/liftpush/liftpush/internal/testinfra"
)

// helmVersion is what hack/test-deps.sh installs.
const (
	helmVersion = "v3.22.0"
	helmInstall = "GOBIN=$HOME/.cache/liftpush/bin go install helm.sh/helm/v3/cmd/helm@" + helmVersion + " (or hack/test-deps.sh)"
	releaseNS   = "liftpush-test"
	configPath  = "/etc/liftpush/liftpush.yml"
	spoolDir    = "/var/lib/liftpush/spool" // the chart's default spool.dir
)

// helmBinary finds helm: $LIFTPUSH_HELM, the cache hack/test-deps.sh installs
// into, $(go env GOPATH)/bin, then $PATH. Missing, the test fails under
// CI=true (a skipped chart test would pass CI unseen) and is skipped elsewhere.
func helmBinary(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("LIFTPUSH_HELM"); p != "" {
		// Set on purpose, so a wrong path is an error even outside CI.
		if st, err := os.Stat(p); err != nil || st.Mode()&0o111 == 0 {
			t.Fatalf("LIFTPUSH_HELM=%s is not an executable (%v); install helm with: %s", p, err, helmInstall)
		}
		return p
	}
	var candidates []string
	cache := os.Getenv("LIFTPUSH_CACHE")
	if home, err := os.UserHomeDir(); cache == "" && err == nil {
		cache = filepath.Join(home, ".cache", "liftpush")
	}
	if cache != "" {
		candidates = append(candidates, filepath.Join(cache, "bin", "helm"))
	}
	if out, err := exec.Command("go", "env", "GOPATH").Output(); err == nil {
		for _, dir := range filepath.SplitList(strings.TrimSpace(string(out))) {
			candidates = append(candidates, filepath.Join(dir, "bin", "helm"))
		}
	}
	for _, c := range candidates {
		if st, err := os.Stat(c); err == nil && st.Mode()&0o111 != 0 {
			return c
		}
	}
	if p, err := exec.LookPath("helm"); err == nil {
		return p
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("helm not found (looked in %v and $PATH); install it with: %s", candidates, helmInstall)
	}
	t.Skipf("helm not found; install it with: %s", helmInstall)
	return ""
}

func runHelm(t *testing.T, helm string, args ...string) ([]byte, error) {
	t.Helper()
	cmd := exec.Command(helm, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	// No user's helm repositories, plugins or kube context leak into the test.
	home := t.TempDir()
	cmd.Env = append(os.Environ(), "HELM_CONFIG_HOME="+home, "HELM_CACHE_HOME="+home, "HELM_DATA_HOME="+home, "KUBECONFIG="+filepath.Join(home, "none"))
	if err := cmd.Run(); err != nil {
		return stdout.Bytes(), errors.New(err.Error() + ": " + stderr.String())
	}
	return stdout.Bytes(), nil
}

// template renders the chart as release rel in namespace ns.
func template(t *testing.T, helm, rel, ns string, args ...string) []byte {
	t.Helper()
	out, err := runHelm(t, helm, append([]string{"template", rel, ".", "--namespace", ns}, args...)...)
	if err != nil {
		t.Fatalf("helm template %v: %v", args, err)
	}
	return out
}

func scenarios(t *testing.T) map[string]string {
	t.Helper()
	files, err := filepath.Glob("ci/*-values.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no ci/*-values.yaml scenarios (%v)", err)
	}
	m := map[string]string{}
	for _, f := range files {
		m[strings.TrimSuffix(filepath.Base(f), "-values.yaml")] = f
	}
	return m
}

func TestLint(t *testing.T) {
	helm := helmBinary(t)
	args := [][]string{nil}
	for _, f := range scenarios(t) {
		args = append(args, []string{"--values", f})
	}
	for _, a := range args {
		if out, err := runHelm(t, helm, append([]string{"lint", "--strict", "."}, a...)...); err != nil {
			t.Errorf("helm lint --strict %v: %v\n%s", a, err, out)
		}
	}
}

// rendered is one scenario's output, decoded into typed objects. Decoding
// is strict: a misspelt or misplaced field fails here already, before the
// apiserver sees it.
type rendered struct {
	raw     []string // one entry per YAML document, as rendered
	objects []runtime.Object
}

func decode(t *testing.T, manifest []byte) rendered {
	t.Helper()
	ser := json.NewSerializerWithOptions(json.DefaultMetaFactory, scheme.Scheme, scheme.Scheme,
		json.SerializerOptions{Yaml: true, Strict: true})
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(manifest)))
	var out rendered
	for {
		doc, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("splitting the manifest: %v", err)
		}
		if len(bytes.TrimSpace(stripComments(doc))) == 0 {
			continue
		}
		obj, _, err := ser.Decode(doc, nil, nil)
		if err != nil {
			shown := doc
			if bytes.Contains(doc, []byte("kind: Secret")) {
				shown = []byte("(a Secret: not shown)") // never print secret values
			}
			t.Fatalf("decoding (strict):\n%s\n: %v", shown, err)
		}
		out.raw = append(out.raw, string(doc))
		out.objects = append(out.objects, obj)
	}
	return out
}

func stripComments(doc []byte) []byte {
	var b bytes.Buffer
	for line := range bytes.Lines(doc) {
		if !bytes.HasPrefix(bytes.TrimSpace(line), []byte("#")) {
			b.Write(line)
		}
	}
	return b.Bytes()
}

func objectsOf[T runtime.Object](r rendered) []T {
	var out []T
	for _, o := range r.objects {
		if v, ok := o.(T); ok {
			out = append(out, v)
		}
	}
	return out
}

// want describes what a scenario must render. rules maps "ClusterRole" or
// "Role/<namespace>" to the rules; a role not listed must not exist.
type want struct {
	mode string // cronjob, deployment or statefulset
	// shards: a statefulset's replicas, or a CronJob's Indexed Job
	// completions; 0 for unsharded.
	shards      int
	rules       map[string][]rbacv1.PolicyRule
	secretName  string // the Secret mounted and/or exported, "" for none
	envFrom     bool
	spool       spoolWant
	chartSecret bool // the chart creates the Secret itself
	// What the pod's environment adds to the config file (envFrom a Secret),
	// as liftpush's env handling would apply it.
	env config.Overrides
	// The daemon's HTTP listener; the zero value: none (every CronJob).
	web webWant
}

// spoolWant is the spool's volume; the zero value: none, and no --spool.dir.
type spoolWant struct {
	dir           string // spool.dir, where the volume is mounted; "" for spoolDir
	claim         string // the PVC mounted there; "" for none
	existingClaim bool   // the claim is the user's: the chart creates no PVC
	emptyDir      bool   // an emptyDir mounted there (mode: deployment only)
	sizeLimit     string // the emptyDir's; "" for none
	// claimTemplate: a StatefulSet's volumeClaimTemplates, one claim per shard.
	claimTemplate bool
}

func (w spoolWant) mounted() bool { return w.claim != "" || w.emptyDir || w.claimTemplate }

// webWant is what the daemon's HTTP listener renders.
type webWant struct {
	port         int32            // the container port named http; 0: no listener at all
	scheme       corev1.URIScheme // of both probes
	configSecret string           // the Secret holding the exporter-toolkit web config; "" for none
	servicePort  int32            // 0: no Service
}

func rule(group string, resources ...string) rbacv1.PolicyRule {
	return rbacv1.PolicyRule{APIGroups: []string{group}, Resources: resources, Verbs: []string{"get", "list"}}
}

// watchRule is rule for a daemon, whose collector keeps watch caches.
func watchRule(group string, resources ...string) rbacv1.PolicyRule {
	r := rule(group, resources...)
	r.Verbs = append(r.Verbs, "watch")
	return r
}

// sdRule is a service discovery rule: Prometheus' discoverers list and
// watch.
func sdRule(group string, resources ...string) rbacv1.PolicyRule {
	return rbacv1.PolicyRule{APIGroups: []string{group}, Resources: resources, Verbs: []string{"list", "watch"}}
}

var wants = map[string]want{
	"minimal": {
		mode:  "cronjob",
		rules: map[string][]rbacv1.PolicyRule{"ClusterRole": {rule("apps", "deployments")}},
	},
	"deployment": {
		mode: "deployment",
		rules: map[string][]rbacv1.PolicyRule{"ClusterRole": {
			watchRule("apps", "deployments", "statefulsets"),
			watchRule("workers.spacelift.io", "workerpools"),
		}},
		// The listener's defaults.
		web: webWant{port: 9555, scheme: corev1.URISchemeHTTP},
	},
	"deployment-web-tls": {
		mode:  "deployment",
		rules: map[string][]rbacv1.PolicyRule{}, // no kubernetes block
		web:   webWant{port: 9443, scheme: corev1.URISchemeHTTPS, configSecret: "liftpush-web-config", servicePort: 443},
	},
	"namespaced": {
		mode: "cronjob",
		// Bare, with a group, and with a version (cronjobs.v1.batch).
		rules: map[string][]rbacv1.PolicyRule{
			"Role/team-a": {rule("apps", "deployments", "statefulsets"), rule("batch", "cronjobs"), rule("", "pods")},
			"Role/team-b": {rule("apps", "deployments", "statefulsets"), rule("batch", "cronjobs"), rule("", "pods")},
		},
		secretName: "liftpush-credentials",
	},
	"spacelift-exporter-secret": {
		mode:       "cronjob",
		rules:      map[string][]rbacv1.PolicyRule{}, // no kubernetes block: no RBAC at all
		secretName: "spacelift-prometheus-exporter-credentials",
		envFrom:    true,
		// SPACELIFT_PROMEX_API_KEY_SECRET from the exporter's Secret.
		env: config.Overrides{SpaceliftSecret: "from-the-secret"},
	},
	"chart-secret-spool": {
		mode: "cronjob",
		// No kubernetes block; only the extra rule the scenario asks for.
		rules: map[string][]rbacv1.PolicyRule{"ClusterRole": {
			{NonResourceURLs: []string{"/metrics"}, Verbs: []string{"get"}},
		}},
		secretName:  "chart-secret-spool-liftpush",
		spool:       spoolWant{claim: "chart-secret-spool-liftpush-spool"},
		chartSecret: true,
	},
	"statefulset": {
		mode:   "statefulset",
		shards: 3,
		rules:  map[string][]rbacv1.PolicyRule{"ClusterRole": {watchRule("apps", "deployments", "statefulsets")}},
		web:    webWant{port: 9555, scheme: corev1.URISchemeHTTP, servicePort: 9555},
		spool:  spoolWant{claimTemplate: true},
	},
	"cronjob-shards": {
		mode:   "cronjob",
		shards: 3,
		rules:  map[string][]rbacv1.PolicyRule{"ClusterRole": {rule("apps", "deployments")}},
	},
	"kubernetes-sd": {
		mode: "cronjob",
		// Cluster-wide: node (and nodes/metrics for the kubelet), pod with
		// attach_metadata.node, ingress; in shop: endpointslice and
		// service. The api_server job reads another cluster: nothing.
		rules: map[string][]rbacv1.PolicyRule{
			"ClusterRole": {
				sdRule("networking.k8s.io", "ingresses"),
				{APIGroups: []string{""}, Resources: []string{"nodes/metrics"}, Verbs: []string{"get"}},
				sdRule("", "nodes", "pods"),
			},
			"Role/shop": {sdRule("discovery.k8s.io", "endpointslices"), sdRule("", "pods", "services")},
		},
		secretName: "liftpush-credentials",
	},
	"deployment-spool-emptydir": {
		mode:  "deployment",
		rules: map[string][]rbacv1.PolicyRule{}, // no kubernetes block
		web:   webWant{port: 9555, scheme: corev1.URISchemeHTTP},
		spool: spoolWant{emptyDir: true, sizeLimit: "512Mi"},
	},
}

func TestTemplate(t *testing.T) {
	helm := helmBinary(t)
	sc := scenarios(t)
	for name := range wants {
		if _, ok := sc[name]; !ok {
			t.Errorf("expectations for %q but no ci/%s-values.yaml", name, name)
		}
	}
	for name, file := range sc {
		t.Run(name, func(t *testing.T) {
			w, ok := wants[name]
			if !ok {
				t.Fatalf("ci/%s-values.yaml has no expectations in wants", name)
			}
			r := decode(t, template(t, helm, name, releaseNS, "--values", file))
			checkRendered(t, r, w)
		})
	}
}

func checkRendered(t *testing.T, r rendered, w want) {
	t.Helper()
	// The workload and its pod.
	var pod corev1.PodTemplateSpec
	cronjobs, deployments := objectsOf[*batchv1.CronJob](r), objectsOf[*appsv1.Deployment](r)
	statefulsets := objectsOf[*appsv1.StatefulSet](r)
	if w.mode != "statefulset" && len(statefulsets) != 0 {
		t.Fatalf("mode %s rendered %d StatefulSets", w.mode, len(statefulsets))
	}
	switch w.mode {
	case "statefulset":
		if len(statefulsets) != 1 || len(deployments) != 0 || len(cronjobs) != 0 {
			t.Fatalf("want 1 StatefulSet and no Deployment or CronJob, got %d, %d and %d", len(statefulsets), len(deployments), len(cronjobs))
		}
		pod = checkStatefulSet(t, r, statefulsets[0], w)
	case "cronjob":
		if len(cronjobs) != 1 || len(deployments) != 0 {
			t.Fatalf("want 1 CronJob and no Deployment, got %d and %d", len(cronjobs), len(deployments))
		}
		checkIndexed(t, cronjobs[0], w.shards)
		cj := cronjobs[0]
		if cj.Spec.ConcurrencyPolicy != batchv1.ForbidConcurrent {
			t.Errorf("concurrencyPolicy = %q, want Forbid", cj.Spec.ConcurrencyPolicy)
		}
		if cj.Spec.JobTemplate.Spec.ActiveDeadlineSeconds == nil || cj.Spec.JobTemplate.Spec.BackoffLimit == nil {
			t.Errorf("job template lacks activeDeadlineSeconds or backoffLimit")
		}
		pod = cj.Spec.JobTemplate.Spec.Template
		if pod.Spec.RestartPolicy != corev1.RestartPolicyNever {
			t.Errorf("restartPolicy = %q, want Never", pod.Spec.RestartPolicy)
		}
	case "deployment":
		if len(deployments) != 1 || len(cronjobs) != 0 {
			t.Fatalf("want 1 Deployment and no CronJob, got %d and %d", len(deployments), len(cronjobs))
		}
		d := deployments[0]
		if d.Spec.Replicas == nil || *d.Spec.Replicas != 1 {
			t.Errorf("replicas = %v, want 1", d.Spec.Replicas)
		}
		if d.Spec.Strategy.Type != appsv1.RecreateDeploymentStrategyType {
			t.Errorf("strategy = %q, want Recreate", d.Spec.Strategy.Type)
		}
		pod = d.Spec.Template
	}
	if len(pod.Spec.Containers) != 1 {
		t.Fatalf("want one container, got %d", len(pod.Spec.Containers))
	}
	c := pod.Spec.Containers[0]

	checkArgs(t, w.mode, c.Args)
	checkSecurity(t, pod.Spec.SecurityContext, c.SecurityContext)

	// The config: mounted where the args say, checksummed, and valid for liftpush.
	cms := objectsOf[*corev1.ConfigMap](r)
	if len(cms) != 1 {
		t.Fatalf("want 1 ConfigMap, got %d", len(cms))
	}
	text, ok := cms[0].Data["liftpush.yml"]
	if !ok {
		t.Fatalf("ConfigMap has no liftpush.yml: %v", cms[0].Data)
	}
	// The block scalar adds one newline to what the checksum was computed on.
	sum := sha256.Sum256([]byte(strings.TrimSuffix(text, "\n")))
	if got, want := pod.Annotations["checksum/config"], hex.EncodeToString(sum[:]); got != want {
		t.Errorf("checksum/config = %q, want sha256 of the ConfigMap's liftpush.yml %q", got, want)
	}
	cfg, err := config.Load([]byte(text))
	if err != nil {
		t.Fatalf("liftpush rejects the rendered config: %v\n%s", err, text)
	}
	// The secret files are mounted in the pod, not here.
	cfg.Files = config.CheckNoFiles
	if err := w.env.Apply(cfg); err != nil {
		t.Errorf("applying the environment: %v", err)
	} else if err := cfg.ValidateRun(); err != nil {
		t.Errorf("rendered config is not runnable: %v\n%s", err, text)
	}
	mounts := map[string]corev1.VolumeMount{}
	for _, m := range c.VolumeMounts {
		mounts[m.MountPath] = m
	}
	if m := mounts[configPath]; m.Name != "config" || m.SubPath != "liftpush.yml" {
		t.Errorf("config mount at %s = %+v", configPath, m)
	}
	volumes := map[string]corev1.Volume{}
	for _, v := range pod.Spec.Volumes {
		volumes[v.Name] = v
	}
	if v := volumes["config"]; v.ConfigMap == nil || v.ConfigMap.Name != cms[0].Name {
		t.Errorf("config volume = %+v, want ConfigMap %s", v, cms[0].Name)
	}

	// Secrets: mounted as files and/or exported, never literal.
	var gotSecret string
	if v, ok := volumes["secrets"]; ok && v.Secret != nil {
		gotSecret = v.Secret.SecretName
		if mounts["/etc/liftpush/secrets"].Name != "secrets" {
			t.Errorf("secret volume not mounted at /etc/liftpush/secrets")
		}
	}
	if gotSecret != w.secretName {
		t.Errorf("secret volume = %q, want %q", gotSecret, w.secretName)
	}
	var gotEnvFrom bool
	for _, e := range c.EnvFrom {
		if e.SecretRef != nil && e.SecretRef.Name == w.secretName {
			gotEnvFrom = true
		}
	}
	if gotEnvFrom != w.envFrom {
		t.Errorf("envFrom Secret %q = %v, want %v", w.secretName, gotEnvFrom, w.envFrom)
	}
	for _, e := range c.Env {
		if looksSecret(e.Name) && e.Value != "" {
			t.Errorf("env %s has a literal value; secrets come from a Secret", e.Name)
		}
	}
	secrets := objectsOf[*corev1.Secret](r)
	if w.chartSecret != (len(secrets) == 1) || len(secrets) > 1 {
		t.Errorf("chart-created Secrets: %d, want chartSecret=%v", len(secrets), w.chartSecret)
	}
	if w.chartSecret {
		if _, ok := pod.Annotations["checksum/secret"]; !ok {
			t.Errorf("no checksum/secret annotation with a chart-created Secret")
		}
	}
	checkSecretsNotLeaked(t, r, secrets)

	checkSpool(t, r, w.mode, pod, w.spool)
	if w.mode != "statefulset" && len(objectsOf[*policyv1.PodDisruptionBudget](r)) != 0 {
		t.Errorf("mode %s rendered a PodDisruptionBudget", w.mode)
	}

	checkWeb(t, r, pod, w.web, time.Duration(cfg.Global.CycleTimeout))
	checkRBAC(t, r, w, pod.Spec.ServiceAccountName)
	checkBinaryAccepts(t, w, c.Args, text)
}

// checkSpool: --spool.dir exactly when a spool volume is mounted at that
// dir (the root filesystem is read-only, so a spool anywhere else could not
// be written), the volume (the PVC, or an emptyDir in a Deployment only) and
// the chart's PVC.
func checkSpool(t *testing.T, r rendered, mode string, pod corev1.PodTemplateSpec, w spoolWant) {
	t.Helper()
	dir := w.dir
	if dir == "" {
		dir = spoolDir
	}
	c := pod.Spec.Containers[0]
	var spoolArgs []string
	for _, a := range c.Args {
		if strings.HasPrefix(a, "--spool.") {
			spoolArgs = append(spoolArgs, a)
		}
	}
	var volume *corev1.Volume
	for i, v := range pod.Spec.Volumes {
		if v.Name == "spool" {
			volume = &pod.Spec.Volumes[i]
		}
	}
	var mounts []corev1.VolumeMount
	for _, m := range c.VolumeMounts {
		if m.Name == "spool" || m.MountPath == dir {
			mounts = append(mounts, m)
		}
	}
	pvcs := objectsOf[*corev1.PersistentVolumeClaim](r)
	if sts := objectsOf[*appsv1.StatefulSet](r); len(sts) == 1 {
		for _, vct := range sts[0].Spec.VolumeClaimTemplates {
			if vct.Name == "spool" {
				if volume != nil {
					t.Errorf("spool volume %+v beside the claim template of the same name", volume)
				}
				// Each pod gets the claim spool-<name>-<ordinal>.
				volume = &corev1.Volume{Name: "spool", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "<template>"}}}
			}
		}
	}

	// Whatever was wanted: a flag without its volume, or a volume nothing
	// writes to, is a bug; so is an emptyDir that dies with each Job's pod.
	if (volume != nil) != (len(spoolArgs) > 0) {
		t.Errorf("spool volume %+v with args %q: want --spool.dir exactly when a spool volume is mounted", volume, spoolArgs)
	}
	if volume != nil && volume.EmptyDir != nil && mode != "deployment" {
		t.Errorf("spool emptyDir in mode %s: a Job's pod, and its emptyDir, end after one run", mode)
	}

	if !w.mounted() {
		if len(spoolArgs) != 0 || volume != nil || len(mounts) != 0 || len(pvcs) != 0 {
			t.Errorf("no spool wanted; got args %q, volume %+v, mounts %+v, %d PVCs", spoolArgs, volume, mounts, len(pvcs))
		}
		return
	}
	if diff := cmp.Diff([]string{"--spool.dir=" + dir}, spoolArgs); diff != "" {
		t.Errorf("--spool.* args (-want +got):\n%s", diff)
	}
	// Whole and writable: liftpush creates its queue dirs and lock file in it.
	if diff := cmp.Diff([]corev1.VolumeMount{{Name: "spool", MountPath: dir}}, mounts); diff != "" {
		t.Errorf("spool mounts (-want +got):\n%s", diff)
	}
	if psc := pod.Spec.SecurityContext; psc == nil || psc.FSGroup == nil {
		t.Errorf("no podSecurityContext.fsGroup: the spool volume would not be writable for the non-root UID")
	}
	if volume == nil {
		t.Fatalf("no spool volume; want claim %q, emptyDir %v", w.claim, w.emptyDir)
	}
	switch {
	case w.claimTemplate:
		if pvc := volume.PersistentVolumeClaim; pvc == nil || pvc.ClaimName != "<template>" {
			t.Errorf("spool volume = %+v, want the StatefulSet's claim template", volume.VolumeSource)
		}
	case w.claim != "":
		if pvc := volume.PersistentVolumeClaim; pvc == nil || pvc.ClaimName != w.claim || pvc.ReadOnly || volume.EmptyDir != nil {
			t.Errorf("spool volume = %+v, want claim %q", volume.VolumeSource, w.claim)
		}
	case w.emptyDir:
		if volume.EmptyDir == nil || volume.PersistentVolumeClaim != nil {
			t.Errorf("spool volume = %+v, want an emptyDir", volume.VolumeSource)
		} else {
			var got string
			if l := volume.EmptyDir.SizeLimit; l != nil {
				got = l.String()
			}
			if got != w.sizeLimit {
				t.Errorf("spool emptyDir sizeLimit = %q, want %q", got, w.sizeLimit)
			}
		}
	}

	// The chart's own claim, unless the user names theirs.
	wantPVCs := 0
	if w.claim != "" && !w.existingClaim {
		wantPVCs = 1
	}
	if len(pvcs) != wantPVCs {
		t.Fatalf("PVCs: %d, want %d (claim %q, existingClaim %v)", len(pvcs), wantPVCs, w.claim, w.existingClaim)
	}
	if wantPVCs == 1 {
		pvc := pvcs[0]
		if pvc.Name != w.claim || pvc.Namespace != releaseNS {
			t.Errorf("PVC %s/%s, want %s/%s", pvc.Namespace, pvc.Name, releaseNS, w.claim)
		}
		// It holds undelivered samples: an uninstall by mistake must not delete it.
		if got := pvc.Annotations["helm.sh/resource-policy"]; got != "keep" {
			t.Errorf("PVC helm.sh/resource-policy = %q, want keep", got)
		}
	}
}

// checkWeb: the daemon's listener flags, its http port, both probes on it,
// the web config Secret and the Service; and nothing of it in CronJob mode,
// whose pods end after one cycle and are never probed or scraped.
func checkWeb(t *testing.T, r rendered, pod corev1.PodTemplateSpec, w webWant, cycleTimeout time.Duration) {
	t.Helper()
	c := pod.Spec.Containers[0]
	services := objectsOf[*corev1.Service](r)
	var webArgs []string
	for _, a := range c.Args {
		if strings.HasPrefix(a, "--web.") {
			webArgs = append(webArgs, a)
		}
	}
	if w.port == 0 {
		if len(webArgs) != 0 || len(c.Ports) != 0 || c.LivenessProbe != nil || c.ReadinessProbe != nil || c.StartupProbe != nil || len(services) != 0 {
			t.Errorf("no listener wanted; got args %q, ports %v, probes %v %v %v, %d Services",
				webArgs, c.Ports, c.LivenessProbe, c.ReadinessProbe, c.StartupProbe, len(services))
		}
		return
	}

	wantArgs := []string{fmt.Sprintf("--web.listen-address=:%d", w.port)}
	if w.configSecret != "" {
		wantArgs = append(wantArgs, "--web.config.file=/etc/liftpush/web/web-config.yml")
	}
	if diff := cmp.Diff(wantArgs, webArgs); diff != "" {
		t.Errorf("--web.* args (-want +got):\n%s", diff)
	}
	wantPorts := []corev1.ContainerPort{{Name: "http", ContainerPort: w.port, Protocol: corev1.ProtocolTCP}}
	if diff := cmp.Diff(wantPorts, c.Ports); diff != "" {
		t.Errorf("container ports (-want +got):\n%s", diff)
	}

	// Both probes on the http port. No startup probe: one on /-/ready would
	// kill a pod whose first cycle runs long.
	for _, p := range []struct {
		name  string
		probe *corev1.Probe
		path  string
	}{{"liveness", c.LivenessProbe, "/-/healthy"}, {"readiness", c.ReadinessProbe, "/-/ready"}} {
		if p.probe == nil || p.probe.HTTPGet == nil {
			t.Errorf("%s probe = %+v, want httpGet %s", p.name, p.probe, p.path)
			continue
		}
		want := corev1.HTTPGetAction{Path: p.path, Port: intstr.FromString("http"), Scheme: w.scheme}
		if diff := cmp.Diff(want, *p.probe.HTTPGet); diff != "" {
			t.Errorf("%s probe httpGet (-want +got):\n%s", p.name, diff)
		}
	}
	if c.StartupProbe != nil {
		t.Errorf("startupProbe = %+v, want none", c.StartupProbe)
	}
	// Should /-/ready stall once the pod is ready, it stays ready for at
	// least a cycle's length.
	if rp := c.ReadinessProbe; rp != nil {
		if window := time.Duration(rp.PeriodSeconds*rp.FailureThreshold) * time.Second; window < cycleTimeout {
			t.Errorf("readiness probe fails after %s, under config.global.cycle_timeout %s", window, cycleTimeout)
		}
	}

	// The exporter-toolkit web config, mounted where --web.config.file points.
	var gotSecret string
	for _, v := range pod.Spec.Volumes {
		if v.Name == "web-config" && v.Secret != nil {
			gotSecret = v.Secret.SecretName
		}
	}
	if gotSecret != w.configSecret {
		t.Errorf("web-config volume Secret = %q, want %q", gotSecret, w.configSecret)
	}
	if w.configSecret != "" {
		mounted := slices.ContainsFunc(c.VolumeMounts, func(m corev1.VolumeMount) bool {
			return m.Name == "web-config" && m.MountPath == "/etc/liftpush/web" && m.ReadOnly && m.SubPath == ""
		})
		if !mounted {
			t.Errorf("web-config not mounted read-only at /etc/liftpush/web (whole, for renewed certificates): %+v", c.VolumeMounts)
		}
	}

	// The Service selects the pod by its labels and targets the named port.
	if (len(services) == 1) != (w.servicePort != 0) || len(services) > 1 {
		t.Fatalf("Services: %d, want port %d", len(services), w.servicePort)
	}
	if w.servicePort != 0 {
		svc := services[0]
		wantPorts := []corev1.ServicePort{{Name: "http", Port: w.servicePort, TargetPort: intstr.FromString("http"), Protocol: corev1.ProtocolTCP}}
		if diff := cmp.Diff(wantPorts, svc.Spec.Ports); diff != "" {
			t.Errorf("Service ports (-want +got):\n%s", diff)
		}
		if len(svc.Spec.Selector) == 0 {
			t.Errorf("Service has no selector")
		}
		for k, v := range svc.Spec.Selector {
			if pod.Labels[k] != v {
				t.Errorf("Service selects %s=%s; the pod has %q", k, v, pod.Labels[k])
			}
		}
	}
}

// checkBinaryAccepts runs the liftpush binary built from this tree with the
// container's arguments. "run <args> --help" must succeed: run knows every
// flag the chart passes, its own --web.* ones included. Then with "run"
// swapped for "check-config", and without those --web.* flags (run's alone;
// there is no listener to check), the rendered config must validate.
//
// check-config checks that the spool dir is a writable directory, creating
// it if needed. In the pod, the chart's --spool.dir (/var/lib/liftpush/spool)
// is a volume mounted for it; on the test machine it is not writable, or,
// run as root, would be created outside the test's temp dir. So check-config
// alone gets --spool.dir pointing at a temp dir instead: the flag is still
// parsed and the spool validated with it, and the printed effective config
// must show that dir (the flag overrides the file). run --help keeps the
// rendered value: it only parses flags.
func checkBinaryAccepts(t *testing.T, w want, args []string, cfg string) {
	t.Helper()
	file := filepath.Join(t.TempDir(), "liftpush.yml")
	if err := os.WriteFile(file, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	spool := filepath.Join(t.TempDir(), "spool")
	var spooled bool
	var run []string
	// The secret files are mounted in the pod, not here.
	check := []string{"check-config", "--syntax-only"}
	for _, a := range args {
		switch {
		case strings.HasPrefix(a, "--config.file="):
			run = append(run, "--config.file="+file)
			check = append(check, "--config.file="+file)
		case strings.HasPrefix(a, "--spool.dir="):
			spooled = true
			run = append(run, a)
			check = append(check, "--spool.dir="+spool)
		case a == "run" || a == "--once" || strings.HasPrefix(a, "--web."):
			run = append(run, a)
		case a == "--shard.from-hostname" || a == "--shard=$(JOB_COMPLETION_INDEX)":
			// The pod's hostname or Job index; this machine has neither.
			run = append(run, "--shard=1")
			check = append(check, "--shard=1")
		default:
			run = append(run, a)
			check = append(check, a)
		}
	}
	run = append(run, "--help")
	var env []string
	if w.env.SpaceliftSecret != "" {
		env = append(env, "SPACELIFT_PROMEX_API_KEY_SECRET="+w.env.SpaceliftSecret)
	}
	if res := testinfra.Run(t, env, run...); res.ExitCode != 0 {
		t.Errorf("liftpush %q: exit %d\n%s", run, res.ExitCode, lastLines(res.Stderr, 5))
	}
	res := testinfra.Run(t, env, check...)
	if res.ExitCode != 0 {
		t.Errorf("liftpush %q: exit %d\n%s", check, res.ExitCode, res.Stderr)
	} else if spooled && !strings.Contains(res.Stdout, spool) {
		t.Errorf("liftpush %q: the effective config does not show spool dir %s:\n%s", check, spool, res.Stdout)
	}
}

// lastLines keeps the end of a usage message: the error, not the flag list.
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

func checkArgs(t *testing.T, mode string, args []string) {
	t.Helper()
	wantPrefix := []string{"run", "--once"}
	if mode == "deployment" || mode == "statefulset" {
		wantPrefix = []string{"run"}
	}
	if len(args) < len(wantPrefix) || !cmp.Equal(args[:len(wantPrefix)], wantPrefix) {
		t.Errorf("args = %q, want them to start with %q", args, wantPrefix)
	}
	if mode != "cronjob" && len(args) > 1 && args[1] == "--once" {
		t.Errorf("daemon args contain --once: %q", args)
	}
	var hasConfig bool
	for _, a := range args {
		hasConfig = hasConfig || a == "--config.file="+configPath
		name, _, _ := strings.Cut(a, "=")
		if looksSecret(name) && !strings.HasSuffix(name, "-file") {
			t.Errorf("argument %q passes a secret on the command line", name)
		}
	}
	if !hasConfig {
		t.Errorf("args = %q, want --config.file=%s", args, configPath)
	}
}

func looksSecret(name string) bool {
	n := strings.ToLower(name)
	return strings.Contains(n, "secret") || strings.Contains(n, "token") || strings.Contains(n, "password")
}

func checkSecurity(t *testing.T, psc *corev1.PodSecurityContext, sc *corev1.SecurityContext) {
	t.Helper()
	if psc == nil || sc == nil {
		t.Fatalf("pod or container securityContext missing: %v, %v", psc, sc)
	}
	type restricted struct {
		RunAsNonRoot, ReadOnlyRoot, NoEscalation bool
		RunAsUser                                int64
		Drop                                     []corev1.Capability
		PodSeccomp, Seccomp                      corev1.SeccompProfileType
	}
	deref := func(b *bool) bool { return b != nil && *b }
	got := restricted{
		RunAsNonRoot: deref(psc.RunAsNonRoot) && deref(sc.RunAsNonRoot),
		ReadOnlyRoot: deref(sc.ReadOnlyRootFilesystem),
		NoEscalation: sc.AllowPrivilegeEscalation != nil && !*sc.AllowPrivilegeEscalation,
	}
	if sc.RunAsUser != nil {
		got.RunAsUser = *sc.RunAsUser
	}
	if sc.Capabilities != nil {
		got.Drop = sc.Capabilities.Drop
	}
	if psc.SeccompProfile != nil {
		got.PodSeccomp = psc.SeccompProfile.Type
	}
	if sc.SeccompProfile != nil {
		got.Seccomp = sc.SeccompProfile.Type
	}
	want := restricted{
		RunAsNonRoot: true, ReadOnlyRoot: true, NoEscalation: true, RunAsUser: 65532,
		Drop:       []corev1.Capability{"ALL"},
		PodSeccomp: corev1.SeccompProfileTypeRuntimeDefault, Seccomp: corev1.SeccompProfileTypeRuntimeDefault,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("securityContext (-want +got):\n%s", diff)
	}
}

// checkSecretsNotLeaked: the value of a chart-created Secret may appear in
// that Secret only, not in the ConfigMap, args, env or annotations.
func checkSecretsNotLeaked(t *testing.T, r rendered, secrets []*corev1.Secret) {
	t.Helper()
	for _, s := range secrets {
		for key, v := range s.Data {
			for i, o := range r.objects {
				if _, isSecret := o.(*corev1.Secret); isSecret {
					continue
				}
				if len(v) > 0 && strings.Contains(r.raw[i], string(v)) {
					// The value itself is never printed: only where it leaked.
					t.Errorf("the value of Secret key %q appears in a %T", key, o)
				}
			}
		}
	}
}

func checkRBAC(t *testing.T, r rendered, w want, sa string) {
	t.Helper()
	got := map[string][]rbacv1.PolicyRule{}
	for _, cr := range objectsOf[*rbacv1.ClusterRole](r) {
		got["ClusterRole"] = cr.Rules
	}
	for _, role := range objectsOf[*rbacv1.Role](r) {
		got["Role/"+role.Namespace] = role.Rules
	}
	if diff := cmp.Diff(w.rules, got); diff != "" {
		t.Errorf("RBAC rules (-want +got):\n%s", diff)
	}
	for _, rule := range flatten(got) {
		for _, v := range rule.Verbs {
			if v != "get" && v != "list" && v != "watch" {
				t.Errorf("rule %+v grants %q; liftpush only reads", rule, v)
			}
		}
	}
	// Every role is bound to the pod's service account, and only to it.
	wantSubject := []rbacv1.Subject{{Kind: "ServiceAccount", Name: sa, Namespace: releaseNS}}
	bound := map[string]bool{}
	for _, b := range objectsOf[*rbacv1.ClusterRoleBinding](r) {
		bound["ClusterRole"] = b.RoleRef.Kind == "ClusterRole"
		if diff := cmp.Diff(wantSubject, b.Subjects); diff != "" {
			t.Errorf("ClusterRoleBinding subjects (-want +got):\n%s", diff)
		}
	}
	for _, b := range objectsOf[*rbacv1.RoleBinding](r) {
		bound["Role/"+b.Namespace] = b.RoleRef.Kind == "Role"
		if diff := cmp.Diff(wantSubject, b.Subjects); diff != "" {
			t.Errorf("RoleBinding %s subjects (-want +got):\n%s", b.Namespace, diff)
		}
	}
	for k := range got {
		if !bound[k] {
			t.Errorf("%s is not bound", k)
		}
	}
	if sas := objectsOf[*corev1.ServiceAccount](r); len(sas) != 1 || sas[0].Name != sa {
		t.Errorf("ServiceAccounts = %d, want one named %q", len(sas), sa)
	}
}

func flatten(m map[string][]rbacv1.PolicyRule) []rbacv1.PolicyRule {
	var out []rbacv1.PolicyRule
	for _, rs := range m {
		out = append(out, rs...)
	}
	return out
}

// TestRBACVariants: when the chart must grant nothing, and the default
// resource list.
func TestRBACVariants(t *testing.T) {
	helm := helmBinary(t)
	base := []string{"--set", "config.remote_write[0].url=http://prometheus:9090/api/v1/write"}
	deployments := []rbacv1.PolicyRule{rule("apps", "deployments")}
	tests := []struct {
		name string
		args []string
		want []rbacv1.PolicyRule // of the ClusterRole; nil: none rendered
	}{
		{"no kubernetes block", nil, nil},
		{"empty kubernetes block lists deployments", []string{"--set-json", "config.kubernetes={}"}, deployments},
		{"switched off", []string{"--set", "config.kubernetes.enabled=false"}, nil},
		{"another cluster's kubeconfig", []string{"--set", "config.kubernetes.kubeconfig=/etc/liftpush/secrets/kubeconfig"}, nil},
		{"rbac.create false", []string{"--set-json", "config.kubernetes={}", "--set", "rbac.create=false"}, nil},
		{"full kubectl name", []string{"--set", "config.kubernetes.resources={deployments.v1.apps,workerpools.v1beta1.workers.spacelift.io,horizontalpodautoscalers}"},
			[]rbacv1.PolicyRule{rule("apps", "deployments"), rule("autoscaling", "horizontalpodautoscalers"), rule("workers.spacelift.io", "workerpools")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := decode(t, template(t, helm, "rel", releaseNS, append(slices.Clone(base), tt.args...)...))
			var got []rbacv1.PolicyRule
			for _, cr := range objectsOf[*rbacv1.ClusterRole](r) {
				got = cr.Rules
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ClusterRole rules (-want +got):\n%s", diff)
			}
			if n := len(objectsOf[*rbacv1.Role](r)) + len(objectsOf[*rbacv1.RoleBinding](r)); n != 0 {
				t.Errorf("%d Roles and RoleBindings, want none", n)
			}
			if got, want := len(objectsOf[*rbacv1.ClusterRoleBinding](r)) == 1, tt.want != nil; got != want {
				t.Errorf("ClusterRoleBinding present = %v, want %v", got, want)
			}
		})
	}
}

// TestWebVariants: the listener's switches, and Helm's merge of the probe
// values with the defaults, key by key.
func TestWebVariants(t *testing.T) {
	helm := helmBinary(t)
	base := []string{"--set", "mode=deployment", "--set", "config.remote_write[0].url=http://prometheus:9090/api/v1/write"}
	probe := func(path string, periodSeconds, failureThreshold, successThreshold int32) *corev1.Probe {
		return &corev1.Probe{
			ProbeHandler:  corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: path, Port: intstr.FromString("http"), Scheme: corev1.URISchemeHTTP}},
			PeriodSeconds: periodSeconds, TimeoutSeconds: 5, FailureThreshold: failureThreshold, SuccessThreshold: successThreshold,
		}
	}
	liveness, readiness := probe("/-/healthy", 10, 3, 0), probe("/-/ready", 10, 6, 1)
	tests := []struct {
		name                string
		args                []string
		wantArgs            []string // the --web.* ones
		liveness, readiness *corev1.Probe
	}{
		{"defaults", nil, []string{"--web.listen-address=:9555"}, liveness, readiness},
		{"web.enabled false", []string{"--set", "web.enabled=false"}, nil, nil, nil},
		{"a CronJob ignores web", []string{"--set", "mode=cronjob", "--set", "web.port=9000", "--set", "web.configSecret.name=web", "--set", "web.tls=true"}, nil, nil, nil},
		{"another port", []string{"--set", "web.port=8080"}, []string{"--web.listen-address=:8080"}, liveness, readiness},
		{"one probe field merged", []string{"--set", "web.readinessProbe.periodSeconds=3"}, []string{"--web.listen-address=:9555"}, liveness, probe("/-/ready", 3, 6, 1)},
		{"liveness off", []string{"--set", "web.livenessProbe.enabled=false"}, []string{"--web.listen-address=:9555"}, nil, readiness},
		{"authentication without probes",
			[]string{"--set", "web.configSecret.name=web", "--set", "web.configSecret.key=config.yml", "--set", "web.authRequired=true", "--set", "web.livenessProbe.enabled=false", "--set", "web.readinessProbe.enabled=false"},
			[]string{"--web.listen-address=:9555", "--web.config.file=/etc/liftpush/web/config.yml"}, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := decode(t, template(t, helm, "rel", releaseNS, append(slices.Clone(base), tt.args...)...))
			var pod corev1.PodTemplateSpec
			if d := objectsOf[*appsv1.Deployment](r); len(d) == 1 {
				pod = d[0].Spec.Template
			} else if cj := objectsOf[*batchv1.CronJob](r); len(cj) == 1 {
				pod = cj[0].Spec.JobTemplate.Spec.Template
			} else {
				t.Fatalf("no Deployment or CronJob rendered")
			}
			c := pod.Spec.Containers[0]
			var gotArgs []string
			for _, a := range c.Args {
				if strings.HasPrefix(a, "--web.") {
					gotArgs = append(gotArgs, a)
				}
			}
			if diff := cmp.Diff(tt.wantArgs, gotArgs); diff != "" {
				t.Errorf("--web.* args (-want +got):\n%s", diff)
			}
			if got, want := len(c.Ports) == 1, tt.wantArgs != nil; got != want {
				t.Errorf("ports = %v, want the http port: %v", c.Ports, want)
			}
			if diff := cmp.Diff(tt.liveness, c.LivenessProbe); diff != "" {
				t.Errorf("livenessProbe (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.readiness, c.ReadinessProbe); diff != "" {
				t.Errorf("readinessProbe (-want +got):\n%s", diff)
			}
		})
	}
}

// TestSpoolVariants: the spool's volume in both modes, and what the chart
// leaves alone (a spool the user mounts and configures without the chart's
// volume).
func TestSpoolVariants(t *testing.T) {
	helm := helmBinary(t)
	base := []string{"--set", "config.remote_write[0].url=http://prometheus:9090/api/v1/write"}
	const claim = "rel-liftpush-spool"
	tests := []struct {
		name string
		args []string
		mode string
		want spoolWant
	}{
		{"none by default", nil, "cronjob", spoolWant{}},
		{"none by default in a Deployment", []string{"--set", "mode=deployment"}, "deployment", spoolWant{}},
		{"PVC for a CronJob", []string{"--set", "spool.persistence.enabled=true"}, "cronjob", spoolWant{claim: claim}},
		{"PVC for a Deployment", []string{"--set", "mode=deployment", "--set", "spool.persistence.enabled=true"}, "deployment", spoolWant{claim: claim}},
		{"existing claim", []string{"--set", "spool.persistence.enabled=true", "--set", "spool.persistence.existingClaim=my-spool"}, "cronjob",
			spoolWant{claim: "my-spool", existingClaim: true}},
		{"emptyDir", []string{"--set", "mode=deployment", "--set", "spool.emptyDir.enabled=true"}, "deployment", spoolWant{emptyDir: true, sizeLimit: "1Gi"}},
		{"emptyDir without a size limit", []string{"--set", "mode=deployment", "--set", "spool.emptyDir.enabled=true", "--set", "spool.emptyDir.sizeLimit="}, "deployment",
			spoolWant{emptyDir: true}},
		{"another dir", []string{"--set", "spool.persistence.enabled=true", "--set", "spool.dir=/data/spool"}, "cronjob", spoolWant{dir: "/data/spool", claim: claim}},
		// The same dir in the config is harmless: the flag says the same.
		{"the same dir in the config", []string{"--set", "spool.persistence.enabled=true", "--set", "config.spool.dir=/var/lib/liftpush/spool/", "--set", "config.spool.max_size=1GiB"}, "cronjob",
			spoolWant{claim: claim}},
		// Without the chart's volume, a config spool.dir (on a volume the
		// user mounts) and --spool.dir in extraArgs are the user's business.
		{"the user's own spool", []string{"--set", "config.spool.dir=/spool", "--set-json", `extraVolumes=[{"name":"own","emptyDir":{}}]`,
			"--set-json", `extraVolumeMounts=[{"name":"own","mountPath":"/spool"}]`}, "cronjob", spoolWant{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := decode(t, template(t, helm, "rel", releaseNS, append(slices.Clone(base), tt.args...)...))
			var pod corev1.PodTemplateSpec
			if d := objectsOf[*appsv1.Deployment](r); len(d) == 1 && tt.mode == "deployment" {
				pod = d[0].Spec.Template
			} else if cj := objectsOf[*batchv1.CronJob](r); len(cj) == 1 && tt.mode == "cronjob" {
				pod = cj[0].Spec.JobTemplate.Spec.Template
			} else {
				t.Fatalf("no %s rendered", tt.mode)
			}
			checkSpool(t, r, tt.mode, pod, tt.want)
		})
	}
}

// TestTemplateRejects: values the chart must refuse at render time, with a
// message that says what to do.
func TestTemplateRejects(t *testing.T) {
	helm := helmBinary(t)
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"unknown mode", []string{"--set", "mode=job"}, "value must be one of 'cronjob', 'deployment', 'statefulset'"},
		// Sharding.
		{"one claim for every shard", []string{"--set", "mode=statefulset", "--set", "spool.persistence.enabled=true", "--set", "spool.persistence.existingClaim=mine"},
			"spool.persistence.existingClaim: in mode statefulset each shard gets its own claim"},
		{"shard flags in extraArgs", []string{"--set", "mode=statefulset", "--set-json", `extraArgs=["--total-shards=4"]`},
			`extraArgs: "--total-shards=4": in mode statefulset the chart sets --shard.from-hostname and --total-shards=statefulset.replicas itself`},
		{"no replicas", []string{"--set", "mode=statefulset", "--set", "statefulset.replicas=0"}, "/statefulset/replicas"},
		{"no shards", []string{"--set", "cronjob.shards=0"}, "/cronjob/shards"},
		{"bare unknown resource", []string{"--set", "config.kubernetes.resources={widgets}"}, `"widgets" is not a built-in resource the chart knows`},
		// The chart cannot expand short names without the cluster's discovery.
		{"short name", []string{"--set", "config.kubernetes.resources={deploy}"}, `"deploy" is not a built-in resource the chart knows`},
		{"job deadline under the cycle timeout", []string{"--set", "config.global.cycle_timeout=2m"}, "cronjob.activeDeadlineSeconds (55) must exceed config.global.cycle_timeout (2m)"},
		{"two daemons", []string{"--set", "mode=deployment", "--set", "deployment.replicas=2"}, "/deployment/replicas"},
		{"literal secret env", []string{"--set", "extraEnv[0].name=API_TOKEN", "--set", "extraEnv[0].value=x"}, "/extraEnv/0"},
		{"misspelt value", []string{"--set", "cronjob.shedule=@hourly"}, "shedule"},
		{"relative spool dir", []string{"--set", "spool.dir=spool"}, "/spool/dir"},
		// The spool.
		{"spool emptyDir for a CronJob", []string{"--set", "spool.emptyDir.enabled=true"},
			"spool.emptyDir.enabled: a CronJob's pod ends after one run and its emptyDir with it"},
		{"spool on a PVC and an emptyDir", []string{"--set", "mode=deployment", "--set", "spool.persistence.enabled=true", "--set", "spool.emptyDir.enabled=true"},
			"spool: persistence.enabled and emptyDir.enabled are both true"},
		{"another spool dir in the config", []string{"--set", "spool.persistence.enabled=true", "--set", "config.spool.dir=/data"},
			`config.spool.dir ("/data") differs from spool.dir ("/var/lib/liftpush/spool"): the chart mounts the spool volume at spool.dir and sets --spool.dir=/var/lib/liftpush/spool`},
		{"another spool dir in the config, emptyDir", []string{"--set", "mode=deployment", "--set", "spool.emptyDir.enabled=true", "--set", "config.spool.dir=spool"},
			`config.spool.dir ("spool") differs from spool.dir`},
		{"spool flag in extraArgs", []string{"--set", "spool.persistence.enabled=true", "--set-json", `extraArgs=["--spool.dir=/data"]`},
			`extraArgs: "--spool.dir=/data": the chart sets --spool.dir=/var/lib/liftpush/spool itself`},
		{"read-only spool claim", []string{"--set", "spool.persistence.enabled=true", "--set", "spool.persistence.accessModes={ReadOnlyMany}"}, "/spool/persistence/accessModes/0"},
		{"misspelt spool value", []string{"--set", "spool.emptydir.enabled=true"}, "emptydir"},
		// The listener.
		{"service for a CronJob", []string{"--set", "web.service.enabled=true"}, "web.service.enabled: only the daemon listens"},
		{"service without the listener", []string{"--set", "mode=deployment", "--set", "web.enabled=false", "--set", "web.service.enabled=true"}, "web.service.enabled: only the daemon listens"},
		{"tls without a web config", []string{"--set", "mode=deployment", "--set", "web.tls=true"}, "web.tls: TLS is configured in an exporter-toolkit web config file"},
		{"authentication without a web config", []string{"--set", "mode=deployment", "--set", "web.authRequired=true"}, "web.authRequired: authentication is configured in an exporter-toolkit web config file"},
		{"authentication with probes", []string{"--set", "mode=deployment", "--set", "web.configSecret.name=web", "--set", "web.authRequired=true", "--set", "web.livenessProbe.enabled=false"},
			"web.authRequired: the kubelet's httpGet probes cannot send credentials from a Secret"},
		{"listener flag in extraArgs", []string{"--set-json", `extraArgs=["--web.listen-address=:80"]`}, `extraArgs: "--web.listen-address=:80": the chart sets the listener's flags itself`},
		{"privileged port", []string{"--set", "mode=deployment", "--set", "web.port=443"}, "/web/port"},
		{"misspelt probe field", []string{"--set", "web.readinessProbe.periodSecond=5"}, "periodSecond"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := runHelm(t, helm, append([]string{"template", "rel", "."}, tt.args...)...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("helm template %v: err = %v, want it to contain %q", tt.args, err, tt.want)
			}
		})
	}
}

// checkStatefulSet: the sharded daemons. Pod i is shard i of replicas
// (--shard.from-hostname reads the ordinal of its name), all start at once,
// each has its own spool claim, and a drain takes one at a time.
func checkStatefulSet(t *testing.T, r rendered, sts *appsv1.StatefulSet, w want) corev1.PodTemplateSpec {
	t.Helper()
	if sts.Spec.Replicas == nil || int(*sts.Spec.Replicas) != w.shards {
		t.Errorf("replicas = %v, want %d", sts.Spec.Replicas, w.shards)
	}
	if sts.Spec.PodManagementPolicy != appsv1.ParallelPodManagement {
		t.Errorf("podManagementPolicy = %q, want Parallel", sts.Spec.PodManagementPolicy)
	}
	args := sts.Spec.Template.Spec.Containers[0].Args
	for _, a := range []string{"--shard.from-hostname", fmt.Sprintf("--total-shards=%d", w.shards)} {
		if !slices.Contains(args, a) {
			t.Errorf("args %q lack %s", args, a)
		}
	}
	if sts.Spec.Template.Spec.RestartPolicy != corev1.RestartPolicyAlways {
		t.Errorf("restartPolicy = %q, want Always", sts.Spec.Template.Spec.RestartPolicy)
	}
	pdbs := objectsOf[*policyv1.PodDisruptionBudget](r)
	if len(pdbs) != 1 {
		t.Fatalf("want 1 PodDisruptionBudget, got %d", len(pdbs))
	}
	pdb := pdbs[0]
	if pdb.Spec.MaxUnavailable == nil || pdb.Spec.MaxUnavailable.IntValue() != 1 {
		t.Errorf("PodDisruptionBudget maxUnavailable = %v, want 1", pdb.Spec.MaxUnavailable)
	}
	if pdb.Spec.Selector == nil || !cmp.Equal(pdb.Spec.Selector.MatchLabels, sts.Spec.Selector.MatchLabels) {
		t.Errorf("PodDisruptionBudget selector %v, want the StatefulSet's %v", pdb.Spec.Selector, sts.Spec.Selector)
	}
	return sts.Spec.Template
}

// checkIndexed: a sharded CronJob runs one Indexed Job per tick, pod i as
// shard i; an unsharded one a plain Job.
func checkIndexed(t *testing.T, cj *batchv1.CronJob, shards int) {
	t.Helper()
	js := cj.Spec.JobTemplate.Spec
	args := js.Template.Spec.Containers[0].Args
	if shards == 0 {
		if js.CompletionMode != nil || js.Completions != nil || js.Parallelism != nil || slices.ContainsFunc(args, func(a string) bool { return strings.HasPrefix(a, "--shard") }) {
			t.Errorf("an unsharded CronJob with completionMode %v, completions %v, parallelism %v, args %q", js.CompletionMode, js.Completions, js.Parallelism, args)
		}
		return
	}
	if js.CompletionMode == nil || *js.CompletionMode != batchv1.IndexedCompletion {
		t.Errorf("completionMode = %v, want Indexed", js.CompletionMode)
	}
	if js.Completions == nil || int(*js.Completions) != shards || js.Parallelism == nil || int(*js.Parallelism) != shards {
		t.Errorf("completions %v, parallelism %v, want %d each", js.Completions, js.Parallelism, shards)
	}
	for _, a := range []string{"--shard=$(JOB_COMPLETION_INDEX)", fmt.Sprintf("--total-shards=%d", shards)} {
		if !slices.Contains(args, a) {
			t.Errorf("args %q lack %s", args, a)
		}
	}
}

// TestShardedCronJobSpool: the shards of one Indexed Job share the spool
// claim, each in its own dir, since the queue and the staleness state are
// per shard.
func TestShardedCronJobSpool(t *testing.T) {
	helm := helmBinary(t)
	r := decode(t, template(t, helm, "rel", releaseNS, "--values", "ci/cronjob-shards-values.yaml", "--set", "spool.persistence.enabled=true", "--set", "spool.persistence.accessModes={ReadWriteMany}"))
	cj := objectsOf[*batchv1.CronJob](r)
	if len(cj) != 1 {
		t.Fatalf("want 1 CronJob, got %d", len(cj))
	}
	checkIndexed(t, cj[0], 3)
	args := cj[0].Spec.JobTemplate.Spec.Template.Spec.Containers[0].Args
	if !slices.Contains(args, "--spool.dir=/var/lib/liftpush/spool/shard-$(JOB_COMPLETION_INDEX)") {
		t.Errorf("args %q: want --spool.dir=/var/lib/liftpush/spool/shard-$(JOB_COMPLETION_INDEX)", args)
	}
	if pvcs := objectsOf[*corev1.PersistentVolumeClaim](r); len(pvcs) != 1 || pvcs[0].Spec.AccessModes[0] != corev1.ReadWriteMany {
		t.Errorf("want one ReadWriteMany claim, got %v", pvcs)
	}
}
