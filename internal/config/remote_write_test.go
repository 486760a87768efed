package config

import (
	"strings"
	"testing"
)

func TestRemoteWriteV2(t *testing.T) {
	cfg := mustLoadFile(t, "testdata/rw-protobuf-v2.good.yml")
	if got := cfg.RemoteWrite[0].ProtobufMessage; got != WriteRequestV2 {
		t.Errorf("protobuf_message = %q, want %q", got, WriteRequestV2)
	}
}

func TestHeadersFromLabels(t *testing.T) {
	for _, tc := range []struct {
		name, block, wantErr string
	}{
		{"tenant from team", `{X-Scope-OrgID: team}`, ""},
		{"Thanos tenant header", `{THANOS-TENANT: tenant}`, ""},
		{"reserved header", `{Content-Type: team}`, `headers_from_labels: "Content-Type" is set by liftpush`},
		{"not a label name", `{X-Scope-OrgID: ""}`, `headers_from_labels: X-Scope-OrgID: "" is not a label name`},
		{"the metric name", `{X-Scope-OrgID: __name__}`, `is not a label name`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := Load([]byte("remote_write:\n  - url: http://mimir:9009/api/v1/push\n    headers_from_labels: " + tc.block + "\n"))
			if err == nil {
				err = cfg.Validate()
			}
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("error %v, want it to say %q", err, tc.wantErr)
			}
		})
	}
}
