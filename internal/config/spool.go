package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/alecthomas/units"
	"github.com/prometheus/common/model"
)

// SpoolConfig is the durable write-ahead queue of the remote-write
// destinations (DESIGN.md section 5, "Spool"). An empty Dir means no spool:
// what cannot be delivered in a cycle is dropped, as without a volume.
type SpoolConfig struct {
	Dir string `yaml:"dir"`
	// MaxSize bounds each destination's queue; past it the oldest records
	// are dropped.
	MaxSize Bytes `yaml:"max_size"`
	// MaxAge drops records older than this: keep it under what the
	// receiver accepts (Prometheus refuses samples older than its head
	// block, about 1 to 3 hours).
	MaxAge model.Duration `yaml:"max_age"`
}

// DefaultSpoolConfig applies when the block or a key is left out.
var DefaultSpoolConfig = SpoolConfig{
	MaxSize: 512 << 20,
	MaxAge:  model.Duration(2 * time.Hour),
}

// UnmarshalYAML implements yaml.Unmarshaler.
func (c *SpoolConfig) UnmarshalYAML(unmarshal func(any) error) error {
	*c = DefaultSpoolConfig
	type plain SpoolConfig
	err := unmarshal((*plain)(c))
	var be bytesError
	if errors.As(err, &be) {
		// The only size in the block; decoders do not know their key.
		return fmt.Errorf("spool.max_size: %w", err)
	}
	return blockError("spool", "", err)
}

// Enabled reports whether a spool directory is set.
func (c SpoolConfig) Enabled() bool { return c.Dir != "" }

// Validate checks the limits and that the directory is writable, or could
// be created, since finding out at the first failed delivery would lose
// that delivery. It creates nothing: the spool makes the directory when it
// opens.
func (c SpoolConfig) Validate() error {
	var errs []error
	if c.MaxSize <= 0 {
		errs = append(errs, fmt.Errorf("spool.max_size: must be positive, got %s", c.MaxSize))
	}
	if c.MaxAge <= 0 {
		errs = append(errs, fmt.Errorf("spool.max_age: must be positive, got %s", c.MaxAge))
	}
	if c.Dir != "" {
		if _, err := checkSpoolDir(c.Dir); err != nil {
			errs = append(errs, fmt.Errorf("spool.dir: %q %w; mount a writable volume there (the chart's spool.persistence) or set --spool.dir", c.Dir, err))
		}
	}
	return errors.Join(errs...)
}

// DirNote is what check-config says of a valid spool directory that does
// not exist yet, or "".
func (c SpoolConfig) DirNote() string {
	if c.Dir == "" {
		return ""
	}
	if exists, err := checkSpoolDir(c.Dir); err != nil || exists {
		return ""
	}
	return fmt.Sprintf("spool.dir %s does not exist yet; liftpush will create it", c.Dir)
}

// checkSpoolDir tells whether dir exists and, if it cannot be used, why:
// it must be a writable directory, or else its nearest existing ancestor
// must be one, so that the spool's MkdirAll will succeed. It only reads.
// Errors read after the quoted dir: "is not a directory".
func checkSpoolDir(dir string) (exists bool, err error) {
	dir = filepath.Clean(dir)
	p := dir
	fi, err := os.Stat(p)
	// ENOTDIR: a file on the way up, which the walk reaches.
	for (errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR)) && filepath.Dir(p) != p {
		p = filepath.Dir(p)
		fi, err = os.Stat(p)
	}
	exists = p == dir
	switch {
	case err != nil:
		return exists, fmt.Errorf("cannot be checked (%w)", err)
	case !fi.IsDir() && exists:
		return exists, errors.New("is not a directory")
	case !fi.IsDir():
		return exists, fmt.Errorf("cannot be created: %q is not a directory", p)
	}
	if err := canWrite(p); err != nil {
		if exists {
			return exists, fmt.Errorf("is not writable (%w)", err)
		}
		return exists, fmt.Errorf("cannot be created: %q is not writable (%w)", p, err)
	}
	return exists, nil
}

// SetDirectory resolves a relative spool dir against the config file's.
func (c *SpoolConfig) SetDirectory(dir string) {
	if c.Dir != "" && !filepath.IsAbs(c.Dir) {
		c.Dir = filepath.Join(dir, c.Dir)
	}
}

// Bytes is a size in bytes written with a binary unit, as Prometheus'
// storage flags are: 512MiB, 1GiB, 64KiB.
type Bytes int64

// UnmarshalYAML implements yaml.Unmarshaler.
func (b *Bytes) UnmarshalYAML(unmarshal func(any) error) error {
	var s string
	if err := unmarshal(&s); err != nil {
		return err
	}
	v, err := units.ParseBase2Bytes(s)
	if err != nil {
		return bytesError(s)
	}
	*b = Bytes(v)
	return nil
}

type bytesError string

func (e bytesError) Error() string {
	return fmt.Sprintf("%q is not a size; use a number with a unit such as 512MiB or 2GiB", string(e))
}

// MarshalYAML implements yaml.Marshaler.
func (b Bytes) MarshalYAML() (any, error) { return b.String(), nil }

func (b Bytes) String() string { return units.Base2Bytes(b).String() }
