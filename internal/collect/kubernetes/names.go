package kubernetes

import "strings"

// JSON keys are arbitrary strings (a CRD may use "nvidia.com/gpu" or keys
// that start with a digit), while remote-write receivers reject anything but
// the classic Prometheus charset. These helpers map a key onto that charset
// so every name we emit is valid, whatever the object holds.

// appendNamePart appends key to b with every character outside
// [a-zA-Z0-9_] replaced by '_'. Colons are replaced too: they are reserved
// for recording rules.
func appendNamePart(b []byte, key string) []byte {
	for i := 0; i < len(key); i++ {
		c := key[i]
		if c == '_' || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') || ('0' <= c && c <= '9') {
			b = append(b, c)
		} else {
			b = append(b, '_')
		}
	}
	return b
}

// labelName turns a JSON key into a label name: invalid characters become
// '_', a leading digit gets a '_' prefix, and leading underscores that
// would make it reserved ("__...") or empty are stripped to one.
func labelName(key string) string {
	b := appendNamePart(make([]byte, 0, len(key)+1), key)
	s := strings.TrimLeft(string(b), "_")
	if s == "" || ('0' <= s[0] && s[0] <= '9') {
		s = "_" + s
	}
	return s
}
