package remotewrite

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	commoncfg "github.com/prometheus/common/config"
	"github.com/prometheus/prometheus/storage/remote/azuread"
	"github.com/prometheus/prometheus/storage/remote/googleiam"
	"github.com/prometheus/sigv4"

	"github.com/liftpush/liftpush/internal/config"
)

// authReceiver checks each request with check and records the
// Authorization headers it accepted.
type authReceiver struct {
	check func(r *http.Request, body []byte) error
	mu    sync.Mutex
	auth  []string
	errs  []error
}

func (a *authReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	err := a.check(r, body)
	a.mu.Lock()
	defer a.mu.Unlock()
	if err != nil {
		a.errs = append(a.errs, err)
		http.Error(w, err.Error(), http.StatusForbidden)
		return
	}
	a.auth = append(a.auth, r.Header.Get("Authorization"))
	w.WriteHeader(http.StatusNoContent)
}

// probeThrough builds the destination of cfg and sends one request (the
// probe's empty WriteRequest), failing the test on an error.
func probeThrough(t *testing.T, cfg *config.RemoteWriteConfig) {
	t.Helper()
	cl := newTestClient(t, cfg, nil)
	if _, err := cl.Probe(t.Context()); err != nil {
		t.Fatalf("probe: %v", err)
	}
}

// isolateAWS keeps the developer's ~/.aws and the instance metadata out of
// the default credential chain.
func isolateAWS(t *testing.T) {
	dir := t.TempDir()
	for k, v := range map[string]string{
		"AWS_CONFIG_FILE":             filepath.Join(dir, "config"),
		"AWS_SHARED_CREDENTIALS_FILE": filepath.Join(dir, "credentials"),
		"AWS_EC2_METADATA_DISABLED":   "true",
		"AWS_PROFILE":                 "",
		"AWS_REGION":                  "",
		"AWS_DEFAULT_REGION":          "",
		"AWS_ACCESS_KEY_ID":           "",
		"AWS_SECRET_ACCESS_KEY":       "",
		"AWS_SESSION_TOKEN":           "",
		"AWS_WEB_IDENTITY_TOKEN_FILE": "",
		"AWS_ROLE_ARN":                "",
	} {
		t.Setenv(k, v)
	}
}

// verifySigV4 signs a copy of r anew with the AWS SDK's signer, the
// headers r says were signed and creds, and compares the signatures: the
// receiver's side of Amazon Managed Prometheus' check.
func verifySigV4(r *http.Request, body []byte, creds aws.Credentials, region string) error {
	auth := r.Header.Get("Authorization")
	const algo = "AWS4-HMAC-SHA256 "
	if !strings.HasPrefix(auth, algo) {
		return fmt.Errorf("authorization %q is not sigv4", auth)
	}
	fields := map[string]string{}
	for _, f := range strings.Split(strings.TrimPrefix(auth, algo), ", ") {
		k, v, _ := strings.Cut(f, "=")
		fields[k] = v
	}
	date, err := time.Parse("20060102T150405Z", r.Header.Get("X-Amz-Date"))
	if err != nil {
		return fmt.Errorf("X-Amz-Date: %w", err)
	}
	wantScope := fmt.Sprintf("%s/%s/%s/aps/aws4_request", creds.AccessKeyID, date.Format("20060102"), region)
	if fields["Credential"] != wantScope {
		return fmt.Errorf("credential scope %q, want %q", fields["Credential"], wantScope)
	}
	again, err := http.NewRequest(r.Method, "http://"+r.Host+r.URL.RequestURI(), nil)
	if err != nil {
		return err
	}
	for _, h := range strings.Split(fields["SignedHeaders"], ";") {
		switch h {
		case "host":
		case "content-length":
			again.ContentLength = r.ContentLength
		default:
			again.Header[http.CanonicalHeaderKey(h)] = r.Header.Values(h)
		}
	}
	sum := sha256.Sum256(body)
	if err := v4.NewSigner().SignHTTP(r.Context(), creds, again, hex.EncodeToString(sum[:]), "aps", region, date); err != nil {
		return err
	}
	if got := again.Header.Get("Authorization"); got != auth {
		return fmt.Errorf("signature does not verify:\n got %s\nwant %s", auth, got)
	}
	return nil
}

// TestSigV4 signs with credentials from the environment and from
// access_key/secret_key, for service aps in the configured region, and
// signs the protocol's headers and the body.
func TestSigV4(t *testing.T) {
	const region = "eu-west-1"
	for _, tc := range []struct {
		name      string
		env       map[string]string
		cfg       sigv4.SigV4Config
		accessKey string
		secretKey string
	}{
		{
			name:      "environment",
			env:       map[string]string{"AWS_ACCESS_KEY_ID": "AKIDENVIRONMENT", "AWS_SECRET_ACCESS_KEY": "env-secret"},
			cfg:       sigv4.SigV4Config{Region: region},
			accessKey: "AKIDENVIRONMENT", secretKey: "env-secret",
		},
		{
			name:      "config keys",
			env:       map[string]string{"AWS_ACCESS_KEY_ID": "AKIDNOTTHISONE", "AWS_SECRET_ACCESS_KEY": "not-this-one"},
			cfg:       sigv4.SigV4Config{Region: region, AccessKey: "AKIDCONFIG", SecretKey: "config-secret"},
			accessKey: "AKIDCONFIG", secretKey: "config-secret",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			isolateAWS(t)
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			creds := aws.Credentials{AccessKeyID: tc.accessKey, SecretAccessKey: tc.secretKey}
			rc := &authReceiver{check: func(r *http.Request, body []byte) error {
				signed := r.Header.Get("Authorization")
				for _, h := range []string{"content-encoding", "content-type", "x-prometheus-remote-write-version", "x-scope-orgid"} {
					if !strings.Contains(signed, h) {
						return fmt.Errorf("header %s not signed: %s", h, signed)
					}
				}
				return verifySigV4(r, body, creds, region)
			}}
			srv := httptest.NewServer(rc)
			defer srv.Close()
			probeThrough(t, testConfig(t, srv.URL+"/workspaces/ws-1/api/v1/remote_write", func(c *config.RemoteWriteConfig) {
				c.SigV4 = &config.SigV4Config{SigV4Config: tc.cfg}
				c.Headers = map[string]commoncfg.Secret{"X-Scope-OrgID": "a"}
			}))
			if len(rc.errs) > 0 || len(rc.auth) != 1 {
				t.Errorf("receiver: %d accepted, errors %v", len(rc.auth), rc.errs)
			}
		})
	}
}

// TestAzureADManagedIdentity gets a token for Azure Monitor from a managed
// identity endpoint, App Service style (IDENTITY_ENDPOINT and
// IDENTITY_HEADER, which the Azure SDK reads), with the user-assigned
// identity's client_id, and sends it as a bearer token.
func TestAzureADManagedIdentity(t *testing.T) {
	const clientID = "00000000-1111-2222-3333-444444444444"
	var tokenErrs []error
	var mu sync.Mutex
	idp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		var errs []error
		if got := r.Header.Get("X-Identity-Header"); got != "identity-header-secret" {
			errs = append(errs, fmt.Errorf("X-IDENTITY-HEADER = %q", got))
		}
		if got := q.Get("resource"); got != "https://monitor.azure.com/" {
			errs = append(errs, fmt.Errorf("resource = %q, want Azure Monitor's ingestion audience", got))
		}
		if got := q.Get("client_id"); got != clientID {
			errs = append(errs, fmt.Errorf("client_id = %q, want %q", got, clientID))
		}
		mu.Lock()
		tokenErrs = append(tokenErrs, errs...)
		mu.Unlock()
		if len(errs) > 0 {
			http.Error(w, "bad token request", http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]string{
			"access_token": "azure-access-token",
			"expires_on":   strconv.FormatInt(time.Now().Add(time.Hour).Unix(), 10),
			"resource":     q.Get("resource"),
			"token_type":   "Bearer",
			"client_id":    clientID,
		})
	}))
	defer idp.Close()
	t.Setenv("IDENTITY_ENDPOINT", idp.URL+"/msi/token")
	t.Setenv("IDENTITY_HEADER", "identity-header-secret")
	for _, k := range []string{"IDENTITY_SERVER_THUMBPRINT", "MSI_ENDPOINT", "MSI_SECRET", "IMDS_ENDPOINT", "AZURE_CLIENT_ID", "AZURE_TENANT_ID"} {
		t.Setenv(k, "")
	}

	rc := &authReceiver{check: bearer("azure-access-token")}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	probeThrough(t, testConfig(t, srv.URL+"/dataCollectionRules/dcr-1/streams/Microsoft-PrometheusMetrics/api/v1/write", func(c *config.RemoteWriteConfig) {
		c.AzureAD = &config.AzureADConfig{AzureADConfig: azuread.AzureADConfig{
			Cloud:           azuread.AzurePublic,
			ManagedIdentity: &azuread.ManagedIdentityConfig{ClientID: clientID},
		}}
	}))
	if len(tokenErrs) > 0 || len(rc.errs) > 0 || len(rc.auth) != 1 {
		t.Errorf("token endpoint errors %v; receiver: %d accepted, errors %v", tokenErrs, len(rc.auth), rc.errs)
	}
}

// bearer checks the request carries the bearer token want.
func bearer(want string) func(*http.Request, []byte) error {
	return func(r *http.Request, _ []byte) error {
		if got := r.Header.Get("Authorization"); got != "Bearer "+want {
			return fmt.Errorf("Authorization = %q, want bearer %q", got, want)
		}
		return nil
	}
}

// TestGoogleIAM exchanges a service account's signed JWT at the key's
// token_uri for an access token with the monitoring.write scope, and sends
// it as a bearer token.
func TestGoogleIAM(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu        sync.Mutex
		tokenErrs []error
	)
	idp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		err := checkJWTGrant(r, &key.PublicKey)
		if err != nil {
			mu.Lock()
			tokenErrs = append(tokenErrs, err)
			mu.Unlock()
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"access_token": "google-access-token", "expires_in": 3600, "token_type": "Bearer"})
	}))
	defer idp.Close()

	pemKey := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: must(x509.MarshalPKCS8PrivateKey(key))})
	sa, err := json.Marshal(map[string]string{
		"type":           "service_account",
		"project_id":     "liftpush-test",
		"private_key_id": "key-1",
		"private_key":    string(pemKey),
		"client_email":   "writer@liftpush-test.iam.gserviceaccount.com",
		"client_id":      "1234567890",
		"token_uri":      idp.URL + "/token",
	})
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "sa.json")
	if err := os.WriteFile(file, sa, 0o600); err != nil {
		t.Fatal(err)
	}

	rc := &authReceiver{check: bearer("google-access-token")}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	probeThrough(t, testConfig(t, srv.URL+"/v1/projects/liftpush-test/location/global/prometheus/api/v1/write", func(c *config.RemoteWriteConfig) {
		c.GoogleIAM = &googleiam.Config{CredentialsFile: file}
	}))
	if len(tokenErrs) > 0 || len(rc.errs) > 0 || len(rc.auth) != 1 {
		t.Errorf("token endpoint errors %v; receiver: %d accepted, errors %v", tokenErrs, len(rc.auth), rc.errs)
	}
}

// checkJWTGrant checks an OAuth2 JWT bearer grant: its RS256 signature by
// the service account's key, its issuer, audience and scope.
func checkJWTGrant(r *http.Request, pub *rsa.PublicKey) error {
	if err := r.ParseForm(); err != nil {
		return err
	}
	if g := r.PostForm.Get("grant_type"); g != "urn:ietf:params:oauth:grant-type:jwt-bearer" {
		return fmt.Errorf("grant_type = %q", g)
	}
	parts := strings.Split(r.PostForm.Get("assertion"), ".")
	if len(parts) != 3 {
		return fmt.Errorf("assertion is not a JWT")
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return err
	}
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], sig); err != nil {
		return fmt.Errorf("JWT signature: %w", err)
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return err
	}
	var claims struct {
		Iss, Aud, Scope string
	}
	if err := json.Unmarshal(payload, &claims); err != nil {
		return err
	}
	if claims.Iss != "writer@liftpush-test.iam.gserviceaccount.com" || claims.Scope != "https://www.googleapis.com/auth/monitoring.write" ||
		claims.Aud != "http://"+r.Host+"/token" {
		return fmt.Errorf("claims %+v", claims)
	}
	return nil
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
