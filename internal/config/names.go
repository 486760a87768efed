package config

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"

	commoncfg "github.com/prometheus/common/config"
)

// destination is what naming needs of one remote_write or pushgateway
// entry; name points into the entry, so naming writes it back.
type destination struct {
	key    string // remote_write[0], as errors name it
	prefix string // of the default name
	url    *commoncfg.URL
	name   *string
}

// destinations lists remote_write, then pushgateway entries, in config
// order: the order default names are given in.
func (c *Config) destinations() []destination {
	ds := make([]destination, 0, len(c.RemoteWrite)+len(c.Pushgateway))
	for i, rw := range c.RemoteWrite {
		ds = append(ds, destination{fmt.Sprintf("remote_write[%d]", i), "remote_write/", rw.URL, &rw.Name})
	}
	for i, pg := range c.Pushgateway {
		ds = append(ds, destination{fmt.Sprintf("pushgateway[%d]", i), "pushgateway/", pg.URL, &pg.Name})
	}
	return ds
}

// nameDestinations gives every unnamed destination its default name,
// <prefix><host><path> (DESIGN.md section 5, "Destination names").
//
// Names already set are reserved first; then default names are given in
// config order, and one already taken gets the first free suffix #2, #3,
// ...: the first of two entries to one URL (two tenants, say) keeps the
// plain name. Nothing depends on map order or chance, so one config always
// gets the same names: spool directories and self-metric series are keyed
// by them, and a name that moved would orphan a spool.
//
// Running it again after flags appended entries names only those, as a
// fresh run over the whole list would: flag entries come after the file's
// of their kind, and default names of different kinds never collide.
func (c *Config) nameDestinations() {
	ds := c.destinations()
	taken := make(map[string]bool, len(ds))
	for _, d := range ds {
		if *d.name != "" {
			taken[*d.name] = true
		}
	}
	for _, d := range ds {
		if *d.name != "" {
			continue
		}
		base, ok := defaultName(d.prefix, d.url)
		if !ok {
			continue // the entry's url error says what to fix
		}
		name := base
		for n := 2; taken[name]; n++ {
			name = fmt.Sprintf("%s#%d", base, n)
		}
		taken[name] = true
		*d.name = name
	}
}

// defaultName is prefix, host and path of u: two receivers on one host
// stay apart. The path is taken as written (escaped), without trailing
// slashes; query and credentials never enter a name, which shows in logs
// and metrics.
func defaultName(prefix string, u *commoncfg.URL) (string, bool) {
	if checkHTTPURL("url", u, "") != nil {
		return "", false
	}
	return prefix + u.Host + strings.TrimRight(u.EscapedPath(), "/"), true
}

// validateNames makes destination names unique: they label self-metrics and
// log lines and key spool directories, and two destinations with one name
// would merge their counts and queues. Default names are unique by
// construction, so a clash is between two explicit names.
func (c *Config) validateNames() []error {
	var errs []error
	seen := map[string]string{}
	for _, d := range c.destinations() {
		name := *d.name
		if name == "" {
			if _, ok := defaultName(d.prefix, d.url); ok {
				// Only a config built in code without SetDefaults gets
				// here; an unnamed destination has no spool directory.
				errs = append(errs, fmt.Errorf("%s.name: empty; set a name, or call Config.SetDefaults before Validate", d.key))
			}
			continue // no default name: the url error is reported already
		}
		if prev, ok := seen[name]; ok {
			errs = append(errs, fmt.Errorf("%s.name: %q is already used by %s; give each destination a unique name", d.key, name, prev))
			continue
		}
		seen[name] = d.key
	}
	return errs
}

// maxDirNameStem caps the readable part of DirName, far below the 255
// bytes Linux allows a file name.
const maxDirNameStem = 80

// DirName maps a destination name to a single directory name that is safe
// on Linux: bytes other than [A-Za-z0-9._-] become "_", the result is cut
// at 80 characters, and "-" plus the first 8 hex digits of the name's
// SHA-256 are always appended. The hash keeps names apart that sanitize or
// cut to the same text ("a/b" and "a_b"); the result is never "", "." or
// ".." and never holds a "/".
//
// Spool directories are keyed by it: <spool.dir>/<DirName(name)>. It must
// therefore never change for a given name, or a restart would orphan the
// records queued under the old directory.
func DirName(name string) string {
	stem := name
	if len(stem) > maxDirNameStem {
		stem = stem[:maxDirNameStem]
	}
	sum := sha256.Sum256([]byte(name))
	var b strings.Builder
	b.Grow(len(stem) + 1 + 8)
	for i := 0; i < len(stem); i++ {
		if c := stem[i]; dirSafe(c) {
			b.WriteByte(c)
		} else {
			b.WriteByte('_')
		}
	}
	b.WriteByte('-')
	b.WriteString(hex.EncodeToString(sum[:4]))
	return b.String()
}

func dirSafe(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-'
}
