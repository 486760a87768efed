package config

import (
	"errors"
	"os"
	"strings"
	"testing"

	"go.yaml.in/yaml/v2"
)

// TestReadmeReceiverBlocks loads every YAML block of README's "Remote-write
// receivers": a block meant to be pasted must be a valid config (a
// my-values.yaml block, its config value).
func TestReadmeReceiverBlocks(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	start := strings.Index(readme, "### Remote-write receivers")
	if start < 0 {
		t.Fatal(`README has no "### Remote-write receivers"`)
	}
	section := readme[start:]
	if end := strings.Index(section[1:], "\n### "); end > 0 {
		section = section[:end+1]
	}
	blocks := strings.Split(section, "```yaml\n")[1:]
	if len(blocks) < 6 {
		t.Fatalf("found %d YAML blocks, want the 6 receivers' at least", len(blocks))
	}
	for i, block := range blocks {
		block = block[:strings.Index(block, "```")]
		if strings.HasPrefix(block, "# my-values.yaml") {
			var values struct {
				Config any `yaml:"config"`
			}
			if err := yaml.Unmarshal([]byte(block), &values); err != nil {
				t.Fatalf("block %d: %v\n%s", i, err, block)
			}
			out, err := yaml.Marshal(values.Config)
			if err != nil {
				t.Fatal(err)
			}
			block = string(out)
		}
		cfg, err := Load([]byte(block))
		if err == nil {
			// The secret files are the reader's, not this machine's.
			err = errors.Join(cfg.validate()...)
		}
		if err != nil {
			t.Errorf("block %d does not load: %v\n%s", i, err, block)
			continue
		}
		if len(cfg.RemoteWrite) != 1 {
			t.Errorf("block %d has %d remote_write entries, want 1", i, len(cfg.RemoteWrite))
		}
	}
}
