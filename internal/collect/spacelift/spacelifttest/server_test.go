package spacelifttest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func post(t *testing.T, s *Server, token, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, s.URL+"/graphql", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
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

func newTestServer(t *testing.T, now func() time.Time) (*Server, string) {
	t.Helper()
	data, err := Fixture("demo")
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewServer(Options{KeyID: "k", Secret: "s", TokenTTL: time.Minute, Now: now, Data: data})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	_, body := post(t, s, "", gql(`mutation($id: ID!, $secret: String!) { apiKeyUser(id: $id, secret: $secret) { jwt validUntil } }`, map[string]any{"id": "k", "secret": "s"}))
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
	if got, want := out.Data.APIKeyUser.ValidUntil, now().Add(time.Minute).Unix(); got != want {
		t.Errorf("validUntil = %d, want %d", got, want)
	}
	return s, out.Data.APIKeyUser.JWT
}

func TestServerBehaviour(t *testing.T) {
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	s, tok := newTestServer(t, clock)
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
				status, body = post(t, s, tc.token, tc.body)
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
	_, body := post(t, s, tok, gql(`{ usage { usedSeats } workerPools { id } }`, nil))
	if want := `{"data":null,"errors":[{"message":"boom","path":["usage","usedSeats"]}]}`; body != want {
		t.Errorf("non-null propagation:\n got %s\nwant %s", body, want)
	}
	_, body = post(t, s, tok, gql(`{ metrics { hasRuns } publicWorkerPool { busyWorkers } }`, nil))
	if want := `{"data":{"metrics":null,"publicWorkerPool":{"busyWorkers":3}},"errors":[{"message":"bang","path":["metrics","hasRuns"]}]}`; body != want {
		t.Errorf("nullable propagation:\n got %s\nwant %s", body, want)
	}
	s.SetMode(Mode{})

	// Tokens expire on the server's clock.
	now = now.Add(2 * time.Minute)
	if _, body := post(t, s, tok, gql(`{ workerPools { id } }`, nil)); !bytes.Contains([]byte(body), []byte("unauthorized")) {
		t.Errorf("expired token accepted: %s", body)
	}
}
