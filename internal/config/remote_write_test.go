package config

import "testing"

func TestRemoteWriteV2(t *testing.T) {
	cfg := mustLoadFile(t, "testdata/rw-protobuf-v2.good.yml")
	if got := cfg.RemoteWrite[0].ProtobufMessage; got != WriteRequestV2 {
		t.Errorf("protobuf_message = %q, want %q", got, WriteRequestV2)
	}
}
