package kubernetes

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/util/json"
)

func TestFlatten(t *testing.T) {
	for _, tc := range []struct {
		name, object, want string
	}{
		{
			name: "numbers, booleans, strings skipped, managedFields and annotations skipped",
			object: `{"metadata": {"generation": 3, "annotations": {"a": "1"}, "managedFields": [{"x": 1}]},
				"spec": {"replicas": 2, "paused": true, "strategy": {"rollingUpdate": {"maxSurge": "25%", "maxUnavailable": 1}}},
				"status": {"ready": false, "ratio": 0.5, "message": "42", "nothing": null}}`,
			want: `# HELP k8s_thing_metadata_generation Field .metadata.generation of Kubernetes Thing objects (example.com/v1).
# TYPE k8s_thing_metadata_generation gauge
k8s_thing_metadata_generation{name="n",namespace="ns"} 3
# HELP k8s_thing_spec_paused Field .spec.paused of Kubernetes Thing objects (example.com/v1).
# TYPE k8s_thing_spec_paused gauge
k8s_thing_spec_paused{name="n",namespace="ns"} 1
# HELP k8s_thing_spec_replicas Field .spec.replicas of Kubernetes Thing objects (example.com/v1).
# TYPE k8s_thing_spec_replicas gauge
k8s_thing_spec_replicas{name="n",namespace="ns"} 2
# HELP k8s_thing_spec_strategy_rollingUpdate_maxUnavailable Field .spec.strategy.rollingUpdate.maxUnavailable of Kubernetes Thing objects (example.com/v1).
# TYPE k8s_thing_spec_strategy_rollingUpdate_maxUnavailable gauge
k8s_thing_spec_strategy_rollingUpdate_maxUnavailable{name="n",namespace="ns"} 1
# HELP k8s_thing_status_ratio Field .status.ratio of Kubernetes Thing objects (example.com/v1).
# TYPE k8s_thing_status_ratio gauge
k8s_thing_status_ratio{name="n",namespace="ns"} 0.5
# HELP k8s_thing_status_ready Field .status.ready of Kubernetes Thing objects (example.com/v1).
# TYPE k8s_thing_status_ready gauge
k8s_thing_status_ready{name="n",namespace="ns"} 0
`,
		},
		{
			name:   "lists label by key and drop the key from the name",
			object: `{"spec": {"containers": [{"ports": [{"containerPort": 80}, {"containerPort": 443}]}, {"ports": [{"containerPort": 8080}]}]}}`,
			want: `# HELP k8s_thing_spec_containerPort Field .spec.containers[].ports[].containerPort of Kubernetes Thing objects (example.com/v1).
# TYPE k8s_thing_spec_containerPort gauge
k8s_thing_spec_containerPort{containers="0",name="n",namespace="ns",ports="0"} 80
k8s_thing_spec_containerPort{containers="0",name="n",namespace="ns",ports="1"} 443
k8s_thing_spec_containerPort{containers="1",name="n",namespace="ns",ports="0"} 8080
`,
		},
		{
			name:   "lists of lists, clashing and invalid keys",
			object: `{"spec": {"m": [[1, 2]], "name": [5], "a.b": 1, "a_b": 2, "9lives": [true], "__x": [1]}}`,
			want: `# HELP k8s_thing_spec Field .spec.9lives[] of Kubernetes Thing objects (example.com/v1).
# TYPE k8s_thing_spec gauge
k8s_thing_spec{_9lives="0",name="n",namespace="ns"} 1
k8s_thing_spec{m="0",m_index="0",name="n",namespace="ns"} 1
k8s_thing_spec{m="0",m_index="1",name="n",namespace="ns"} 2
k8s_thing_spec{name="n",name_index="0",namespace="ns"} 5
k8s_thing_spec{name="n",namespace="ns",x="0"} 1
# HELP k8s_thing_spec_a_b Field .spec.a.b of Kubernetes Thing objects (example.com/v1).
# TYPE k8s_thing_spec_a_b gauge
k8s_thing_spec_a_b{name="n",namespace="ns"} 1
`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var obj map[string]any
			if err := json.Unmarshal([]byte(tc.object), &obj); err != nil {
				t.Fatal(err)
			}
			out := newFamilySet(nil)
			newFlattener(out, "k8s_", "Thing", "example.com/v1").object(obj, "ns", "n")
			if diff := cmp.Diff(tc.want, exposition(out.result())); diff != "" {
				t.Errorf("exposition (-want +got):\n%s", diff)
			}
		})
	}
}
