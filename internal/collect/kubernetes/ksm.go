package kubernetes

import (
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/util/intstr"
)

// ksmFamily is one family of kube-state-metrics' deployment store: the same
// names, HELP texts and labels, so dashboards and alerts written for
// kube-state-metrics work unchanged. Each family yields its samples for one
// Deployment through emit; extra holds label pairs beyond
// {namespace, deployment}.
type ksmFamily struct {
	name, help string
	values     func(d map[string]any, emit func(v float64, extra ...string))
}

// ksmDeploymentFamilies mirrors kube-state-metrics' internal/store/deployment.go.
// Where a field is absent from the JSON (apps/v1 status fields are
// omitempty), the typed Go struct that kube-state-metrics reads would hold
// 0, so 0 is what we emit too.
var ksmDeploymentFamilies = []ksmFamily{
	{"kube_deployment_created", "Unix creation timestamp", func(d map[string]any, emit func(float64, ...string)) {
		s, _ := nested(d, "metadata", "creationTimestamp").(string)
		if t, err := time.Parse(time.RFC3339, s); err == nil {
			emit(float64(t.Unix()))
		}
	}},
	{"kube_deployment_status_replicas", "The number of replicas per deployment.", zeroDefault("status", "replicas")},
	{"kube_deployment_status_replicas_ready", "The number of ready replicas per deployment.", zeroDefault("status", "readyReplicas")},
	{"kube_deployment_status_replicas_available", "The number of available replicas per deployment.", zeroDefault("status", "availableReplicas")},
	{"kube_deployment_status_replicas_unavailable", "The number of unavailable replicas per deployment.", zeroDefault("status", "unavailableReplicas")},
	{"kube_deployment_status_replicas_updated", "The number of updated replicas per deployment.", zeroDefault("status", "updatedReplicas")},
	{"kube_deployment_status_observed_generation", "The generation observed by the deployment controller.", zeroDefault("status", "observedGeneration")},
	{"kube_deployment_status_condition", "The current status conditions of a deployment.", func(d map[string]any, emit func(float64, ...string)) {
		conds, _ := nested(d, "status", "conditions").([]any)
		for _, c := range conds {
			cm, _ := c.(map[string]any)
			typ, _ := cm["type"].(string)
			status, _ := cm["status"].(string)
			if typ == "" {
				continue
			}
			// One series per possible status, 1 for the current one, so a
			// query need not know which statuses ever existed.
			for _, s := range []string{"true", "false", "unknown"} {
				emit(boolFloat(strings.EqualFold(status, s)), "condition", typ, "status", s)
			}
		}
	}},
	{"kube_deployment_spec_replicas", "Number of desired pods for a deployment.", func(d map[string]any, emit func(float64, ...string)) {
		// The apiserver always defaults spec.replicas; without it there is
		// nothing honest to report.
		if v, ok := number(nested(d, "spec", "replicas")); ok {
			emit(v)
		}
	}},
	{"kube_deployment_spec_paused", "Whether the deployment is paused and will not be processed by the deployment controller.", func(d map[string]any, emit func(float64, ...string)) {
		p, _ := nested(d, "spec", "paused").(bool)
		emit(boolFloat(p))
	}},
	{"kube_deployment_spec_strategy_rollingupdate_max_unavailable", "Maximum number of unavailable replicas during a rolling update of a deployment.", rollingUpdate("maxUnavailable", false)},
	{"kube_deployment_spec_strategy_rollingupdate_max_surge", "Maximum number of replicas that can be scheduled above the desired number of replicas during a rolling update of a deployment.", rollingUpdate("maxSurge", true)},
	{"kube_deployment_metadata_generation", "Sequence number representing a specific generation of the desired state.", zeroDefault("metadata", "generation")},
}

// ksmDeployment adds the kube-state-metrics series of one Deployment.
func ksmDeployment(out sink, d map[string]any, namespace, name string) {
	var buf []byte
	for i := range ksmDeploymentFamilies {
		kf := &ksmDeploymentFamilies[i]
		buf = append(buf[:0], kf.name...)
		fam := out.family(buf, func() string { return kf.help })
		kf.values(d, func(v float64, extra ...string) {
			pairs := append([]string{"namespace", namespace, "deployment", name}, extra...)
			out.add(fam, v, pairs...)
		})
	}
}

// rollingUpdate resolves an int-or-percent field against spec.replicas the
// way the deployment controller does: maxSurge rounds up, maxUnavailable
// down. A value that does not parse yields no sample rather than an error:
// the apiserver validated it, so this only guards against surprises.
func rollingUpdate(field string, roundUp bool) func(map[string]any, func(float64, ...string)) {
	return func(d map[string]any, emit func(float64, ...string)) {
		raw := nested(d, "spec", "strategy", "rollingUpdate", field)
		var v intstr.IntOrString
		switch r := raw.(type) {
		case string:
			v = intstr.FromString(r)
		default:
			n, ok := number(raw)
			if !ok || n != float64(int32(n)) {
				return
			}
			v = intstr.FromInt32(int32(n))
		}
		replicas, ok := number(nested(d, "spec", "replicas"))
		if !ok {
			return
		}
		scaled, err := intstr.GetScaledValueFromIntOrPercent(&v, int(replicas), roundUp)
		if err != nil {
			return
		}
		emit(float64(scaled))
	}
}

func zeroDefault(path ...string) func(map[string]any, func(float64, ...string)) {
	return func(d map[string]any, emit func(float64, ...string)) {
		v, _ := number(nested(d, path...))
		emit(v)
	}
}

// nested returns the value at path, or nil when any step is missing or not
// an object.
func nested(obj map[string]any, path ...string) any {
	var cur any = obj
	for _, p := range path {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[p]
	}
	return cur
}

func number(v any) (float64, bool) {
	switch v := v.(type) {
	case int64:
		return float64(v), true
	case float64:
		return v, true
	case int:
		return float64(v), true
	case int32:
		return float64(v), true
	}
	return 0, false
}

func boolFloat(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
