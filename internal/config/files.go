package config

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"

	commoncfg "github.com/prometheus/common/config"
)

// The files a config names: secrets (*_file) and TLS material. A missing
// or unreadable one used to pass check-config, and then fail every request
// of every cycle (issue 22). Validate now opens each for reading, and
// reads a CA or a client certificate to check that it holds one; it never
// writes, and never opens anything but a regular file (a FIFO would block
// it, a device would never end).

// FileCheck says which files Validate reads.
type FileCheck int

const (
	// CheckAllFiles reads every file the config names (run, push,
	// check-config).
	CheckAllFiles FileCheck = iota
	// CheckSourceFiles reads the sources' files only: collect pushes
	// nothing, so a destination's secret need not be on this machine.
	CheckSourceFiles
	// CheckNoFiles reads none: the config alone, for a config meant for
	// another machine, such as a pod whose secrets are mounted there
	// (check-config --syntax-only, as promtool check config has).
	CheckNoFiles
)

// maxPEM bounds what is read of a CA or certificate file: a bundle of
// every public CA is about 200 KiB.
const maxPEM = 4 << 20

// fileKind says what a file must hold.
type fileKind int

const (
	anyFile  fileKind = iota // a secret: readable is enough
	caFile                   // at least one PEM certificate
	pairFile                 // checked with its pair (cert_file, key_file)
)

// CheckHTTPClientFiles checks the files an HTTP client block names:
// basic_auth, authorization (and bearer_token_file, which decoding turned
// into authorization.credentials_file), oauth2, tls_config and http_headers.
// Each error names the key within the block; the caller puts the block in
// front. Paths must be absolute by now (Config.SetDirectory). Scrape
// configs call it too.
func CheckHTTPClientFiles(h *commoncfg.HTTPClientConfig) []error {
	var errs []error
	check := func(key, path string, kind fileKind) {
		if err := checkFile(key, path, kind); err != nil {
			errs = append(errs, err)
		}
	}
	if b := h.BasicAuth; b != nil {
		check("basic_auth.username_file", b.UsernameFile, anyFile)
		check("basic_auth.password_file", b.PasswordFile, anyFile)
	}
	if a := h.Authorization; a != nil {
		check("authorization.credentials_file", a.CredentialsFile, anyFile)
	}
	check("bearer_token_file", h.BearerTokenFile, anyFile)
	if o := h.OAuth2; o != nil {
		check("oauth2.client_secret_file", o.ClientSecretFile, anyFile)
		check("oauth2.client_certificate_key_file", o.ClientCertificateKeyFile, anyFile)
		errs = append(errs, checkTLSFiles("oauth2.tls_config", &o.TLSConfig)...)
	}
	errs = append(errs, checkTLSFiles("tls_config", &h.TLSConfig)...)
	if hs := h.HTTPHeaders; hs != nil {
		for _, name := range slices.Sorted(maps.Keys(hs.Headers)) {
			for i, f := range hs.Headers[name].Files {
				check(fmt.Sprintf("http_headers.%s.files[%d]", name, i), f, anyFile)
			}
		}
	}
	return errs
}

// checkTLSFiles checks a tls_config block: the CA holds a certificate,
// and the client certificate and key, when both are files, make a pair.
func checkTLSFiles(key string, t *commoncfg.TLSConfig) []error {
	var errs []error
	if err := checkFile(key+".ca_file", t.CAFile, caFile); err != nil {
		errs = append(errs, err)
	}
	certErr := checkFile(key+".cert_file", t.CertFile, pairFile)
	keyErr := checkFile(key+".key_file", t.KeyFile, pairFile)
	errs = append(errs, certErr, keyErr)
	if certErr == nil && keyErr == nil && t.CertFile != "" && t.KeyFile != "" {
		if _, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile); err != nil {
			errs = append(errs, fmt.Errorf("%s.cert_file and key_file: %q and %q are not a certificate and its key: %w", key, t.CertFile, t.KeyFile, err))
		}
	}
	return slices.DeleteFunc(errs, func(err error) bool { return err == nil })
}

// checkFile checks one file named by key; an unset path is fine.
func checkFile(key, path string, kind fileKind) error {
	if path == "" {
		return nil
	}
	fi, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("%s: %q cannot be read: %w; create it or fix the path", key, path, unwrapPath(err))
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%s: %q is %s, not a regular file; point it at the file itself", key, path, FileType(fi.Mode()))
	}
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("%s: %q cannot be read: %w; check its permissions for the user liftpush runs as", key, path, unwrapPath(err))
	}
	defer f.Close()
	if kind != caFile {
		return nil
	}
	b, err := io.ReadAll(io.LimitReader(f, maxPEM+1))
	switch {
	case err != nil:
		return fmt.Errorf("%s: reading %q: %w", key, path, unwrapPath(err))
	case len(b) > maxPEM:
		return fmt.Errorf("%s: %q is larger than %d MiB; a CA bundle is a few hundred KiB", key, path, maxPEM>>20)
	case !x509.NewCertPool().AppendCertsFromPEM(b):
		return fmt.Errorf("%s: %q holds no PEM certificate; give the CA's certificate (-----BEGIN CERTIFICATE-----)", key, path)
	}
	return nil
}

// FileType names what a path that is not a regular file is, for errors
// that refuse it (check-config, file:// scrape targets).
func FileType(m os.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&os.ModeNamedPipe != 0:
		return "a named pipe"
	case m&os.ModeSocket != 0:
		return "a socket"
	case m&os.ModeDevice != 0:
		return "a device"
	}
	return "not a regular file"
}

// unwrapPath drops the *fs.PathError around an error: the message names
// the path already.
func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// checkFiles checks the files the config names, block by block, as far as
// c.Files says.
func (c *Config) checkFiles() []error {
	if c.Files == CheckNoFiles {
		return nil
	}
	var errs []error
	add := func(prefix string, es []error) {
		for _, e := range es {
			errs = append(errs, fmt.Errorf("%s%w", prefix, e))
		}
	}
	for i, s := range c.ScrapeConfigs {
		add(fmt.Sprintf("scrape_configs[%d] (job %q): ", i, s.JobName), CheckHTTPClientFiles(&s.HTTPClientConfig))
	}
	if s := c.Spacelift; s.IsEnabled() {
		es := []error{
			checkFile("api_key_secret_file", s.APIKeySecretFile, anyFile),
			checkFile("ca_file", s.CAFile, caFile),
		}
		add("spacelift: ", slices.DeleteFunc(es, func(err error) bool { return err == nil }))
	}
	if c.Files == CheckSourceFiles {
		return errs
	}
	for i, rw := range c.RemoteWrite {
		es := CheckHTTPClientFiles(&rw.HTTPClientConfig)
		if g := rw.GoogleIAM; g != nil {
			es = append(es, checkFile("google_iam.credentials_file", g.CredentialsFile, anyFile))
		}
		if a := rw.AzureAD; a != nil && a.Certificate != nil {
			es = append(es,
				checkFile("azuread.certificate.certificate_path", a.Certificate.CertificatePath, anyFile),
				checkFile("azuread.certificate.certificate_key_path", a.Certificate.CertificateKeyPath, anyFile))
		}
		add(fmt.Sprintf("remote_write[%d]: ", i), slices.DeleteFunc(es, func(err error) bool { return err == nil }))
	}
	for i, pg := range c.Pushgateway {
		add(fmt.Sprintf("pushgateway[%d]: ", i), CheckHTTPClientFiles(&pg.HTTPClientConfig))
	}
	return errs
}
