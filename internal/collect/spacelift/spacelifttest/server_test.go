package spacelifttest

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/liftpush/liftpush/internal/testinfra"
)

// post sends body to the fake at url with client.
func post(t *testing.T, client *http.Client, url, token, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url+"/graphql", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

func gql(query string, vars map[string]any) string {
	b, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	return string(b)
}

const exchangeDoc = `mutation($id: ID!, $secret: String!) { apiKeyUser(id: $id, secret: $secret) { jwt validUntil } }`

// exchange gets a token for key k, secret s from the fake at url.
func exchange(t *testing.T, client *http.Client, url string) (jwt string, validUntil int64) {
	t.Helper()
	_, body := post(t, client, url, "", gql(exchangeDoc, map[string]any{"id": "k", "secret": "s"}))
	var out struct {
		Data struct {
			APIKeyUser struct {
				JWT        string
				ValidUntil int64
			}
		}
	}
	if err := json.Unmarshal([]byte(body), &out); err != nil || out.Data.APIKeyUser.JWT == "" {
		t.Fatalf("token exchange: %v %s", err, body)
	}
	return out.Data.APIKeyUser.JWT, out.Data.APIKeyUser.ValidUntil
}

func testOptions(t *testing.T) Options {
	t.Helper()
	data, err := Fixture("demo")
	if err != nil {
		t.Fatal(err)
	}
	return Options{KeyID: "k", Secret: "s", TokenTTL: time.Minute, Data: data}
}

func newTestServer(t *testing.T) (*Server, string) {
	t.Helper()
	s, err := NewServer(testOptions(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	before := time.Now()
	tok, until := exchange(t, http.DefaultClient, s.URL)
	after := time.Now()
	// The fake truncates validUntil to the second.
	if lo, hi := before.Add(time.Minute).Unix(), after.Add(time.Minute).Unix(); until < lo || until > hi {
		t.Errorf("validUntil = %d, want a minute from the exchange, %d to %d", until, lo, hi)
	}
	return s, tok
}

func TestServerBehaviour(t *testing.T) {
	s, tok := newTestServer(t)
	for _, tc := range []struct {
		name, token, body string
		status            int
		want              string
	}{
		{"wrong secret gives a null user", "", gql(`mutation { apiKeyUser(id: "k", secret: "x") { jwt } }`, nil), 200,
			`{"data":{"apiKeyUser":null}}`},
		{"no token", "", gql(`{ workerPools { id } }`, nil), 200,
			`{"errors":[{"message":"unauthorized"}]}`},
		{"unknown token", "a.b.c", gql(`{ workerPools { id } }`, nil), 200,
			`{"errors":[{"message":"unauthorized"}]}`},
		{"fields in query order, aliases, fragments, __typename", tok,
			gql(`query Q { p: publicWorkerPool { ...F __typename } } fragment F on PublicWorkerPool { pendingRuns parallelism }`, nil), 200,
			`{"data":{"p":{"pendingRuns":2,"parallelism":10,"__typename":"PublicWorkerPool"}}}`},
		{"unknown field is rejected", tok, gql(`{ workerPools { id color } }`, nil), 200,
			`{"errors":[{"message":"Cannot query field \"color\" on type \"WorkerPool\"."}]}`},
		{"missing argument is rejected", tok, gql(`{ workerPool { id } }`, nil), 200,
			`{"errors":[{"message":"Field \"workerPool\" argument \"id\" of type \"ID!\" is required, but it was not provided."}]}`},
		{"syntax error is rejected", tok, gql(`{ workerPools { id `, nil), 200,
			`{"errors":[{"message":"Expected Name, found \u003cEOF\u003e"}]}`},
		{"GET is refused", "", "", 405, "use POST\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var status int
			var body string
			if tc.status == 405 {
				resp, err := http.Get(s.URL + "/graphql")
				if err != nil {
					t.Fatal(err)
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				status, body = resp.StatusCode, string(b)
			} else {
				status, body = post(t, http.DefaultClient, s.URL, tc.token, tc.body)
			}
			if status != tc.status {
				t.Errorf("status %d, want %d", status, tc.status)
			}
			if diff := cmp.Diff(tc.want, body); diff != "" {
				t.Errorf("body (-want +got):\n%s", diff)
			}
		})
	}

	// A field error in a non-null root nulls all of data; in a nullable
	// root only that root.
	s.SetMode(Mode{FieldErrors: map[string]string{"Usage.usedSeats": "boom", "SpaceliftMetrics.hasRuns": "bang"}})
	_, body := post(t, http.DefaultClient, s.URL, tok, gql(`{ usage { usedSeats } workerPools { id } }`, nil))
	if want := `{"data":null,"errors":[{"message":"boom","path":["usage","usedSeats"]}]}`; body != want {
		t.Errorf("non-null propagation:\n got %s\nwant %s", body, want)
	}
	_, body = post(t, http.DefaultClient, s.URL, tok, gql(`{ metrics { hasRuns } publicWorkerPool { busyWorkers } }`, nil))
	if want := `{"data":{"metrics":null,"publicWorkerPool":{"busyWorkers":3}},"errors":[{"message":"bang","path":["metrics","hasRuns"]}]}`; body != want {
		t.Errorf("nullable propagation:\n got %s\nwant %s", body, want)
	}
}

// Tokens expire on the server's clock: in a synctest bubble, over a pipe,
// a token of a minute works until its last second and not at the minute.
func TestTokenExpiry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h, err := NewHandler(testOptions(t))
		if err != nil {
			t.Fatal(err)
		}
		srv := testinfra.NewPipeServer(t, h)
		client := &http.Client{Transport: srv.Transport()}
		tok, until := exchange(t, client, srv.URL)
		if want := time.Now().Add(time.Minute).Unix(); until != want {
			t.Errorf("validUntil = %d, want %d, a minute from now", until, want)
		}
		query := gql(`{ workerPools { id } }`, nil)
		time.Sleep(time.Minute - time.Second)
		if _, body := post(t, client, srv.URL, tok, query); strings.Contains(body, "unauthorized") {
			t.Errorf("token refused a second before it expires: %s", body)
		}
		time.Sleep(time.Second)
		if _, body := post(t, client, srv.URL, tok, query); !strings.Contains(body, "unauthorized") {
			t.Errorf("expired token accepted: %s", body)
		}
		if st := h.Stats(); st.Exchanges != 1 || st.Queries != 1 || st.Unauthorized != 1 {
			t.Errorf("exchanges=%d queries=%d unauthorized=%d, want 1 each", st.Exchanges, st.Queries, st.Unauthorized)
		}
	})
}
