// Package spacelifttest is a fake Spacelift GraphQL API for tests and demos.
//
// It is a real GraphQL server: it parses schema.graphql (a subset of
// Spacelift's schema) with gqlparser, rejects every document the schema does
// not allow, and executes the rest over fixture data, with GraphQL's null
// propagation. Authentication works like Spacelift's: the apiKeyUser
// mutation issues a JWT with validUntil, and an expired or unknown token is
// answered HTTP 200 {"errors":[{"message":"unauthorized"}]}. Modes inject
// the failures a collector must survive.
package spacelifttest

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"

	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/validator"
)

//go:embed schema.graphql
var schemaSource string

// MachineSessionMessage is what older self-hosted Spacelift answers when an
// API key asks for a root it keeps from machine sessions.
const MachineSessionMessage = "not available for machine sessions"

// Options configure a fake account.
type Options struct {
	// KeyID and Secret are the one API key the account accepts.
	KeyID, Secret string
	// TokenTTL is the lifetime of issued tokens (default 1h).
	TokenTTL time.Duration
	// Data is the account, as returned by Fixture. A usage without
	// billingPeriodStart or End gets BillingPeriod(time.Now()).
	Data map[string]any
	// TLS serves https with httptest's self-signed certificate (see
	// Server.Certificate), to test ca_file.
	TLS bool
}

// Mode selects injected failures. The zero Mode is a healthy API.
type Mode struct {
	// MachineSessions makes publicWorkerPool, usage and metrics fail with
	// "not available for machine sessions", like self-hosted Spacelift
	// before August 2026 does for API keys.
	MachineSessions bool
	// FieldErrors makes fields fail with a message, by "Type.field" (e.g.
	// "SpaceliftMetrics.stacksCountByState"); the null propagates as in the
	// real API.
	FieldErrors map[string]string
	// HiddenFields are fields, by "Type.field", that this API version
	// pretends not to know: a document selecting one is rejected whole.
	HiddenFields []string
	// Status, when not 0, answers every request with that status.
	Status int
	// Delay holds every answer back, or until the client gives up.
	Delay time.Duration
	// StuckStackCursor makes searchStacks answer every page after the
	// first with the cursor it was given and hasNextPage true, the way a
	// buggy server would loop a client forever.
	StuckStackCursor bool
}

// Stats counts what the server saw.
type Stats struct {
	Exchanges int // apiKeyUser mutations
	// ExchangesWithAuth counts apiKeyUser requests that carried an
	// Authorization header, which the exchange must not send.
	ExchangesWithAuth int
	Queries           int // authenticated queries executed
	Unauthorized      int // queries refused for the token
	Rejected          int // documents that failed validation
	StackSearches     int // executed queries that select searchStacks
	// Documents holds every query document received, in order.
	Documents []string
	// Header is the last request's header.
	Header http.Header
}

// Handler is the fake API as an http.Handler, served at /graphql.
type Handler struct {
	schema *ast.Schema
	key    []byte

	mu     sync.Mutex
	opts   Options
	mode   Mode
	tokens map[string]time.Time
	stats  Stats
	serial int
}

// NewHandler builds a fake account.
func NewHandler(opts Options) (*Handler, error) {
	schema, err := gqlparser.LoadSchema(&ast.Source{Name: "schema.graphql", Input: schemaSource})
	if err != nil {
		return nil, fmt.Errorf("loading the fake's schema: %w", err)
	}
	if opts.TokenTTL == 0 {
		opts.TokenTTL = time.Hour
	}
	if opts.Data == nil {
		opts.Data = map[string]any{}
	}
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	return &Handler{schema: schema, key: key, opts: opts, tokens: map[string]time.Time{}}, nil
}

// Server is a fake API listening on a loopback port.
type Server struct {
	*httptest.Server
	*Handler
}

// NewServer starts a fake account on 127.0.0.1; Close it when done. Its
// URL is the endpoint to configure (the API is at URL + "/graphql").
func NewServer(opts Options) (*Server, error) {
	h, err := NewHandler(opts)
	if err != nil {
		return nil, err
	}
	if opts.TLS {
		return &Server{Server: httptest.NewTLSServer(h), Handler: h}, nil
	}
	return &Server{Server: httptest.NewServer(h), Handler: h}, nil
}

// Close stops the server.
func (s *Server) Close() { s.Server.Close() }

// SetMode replaces the injected failures.
func (h *Handler) SetMode(m Mode) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.mode = m
}

// SetSecret changes the secret the account accepts (a rotated key).
func (h *Handler) SetSecret(s string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.opts.Secret = s
}

// SetData replaces the account's data.
func (h *Handler) SetData(d map[string]any) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.opts.Data = d
}

// RevokeTokens makes every issued token unknown, as a server-side logout.
func (h *Handler) RevokeTokens() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.tokens = map[string]time.Time{}
}

// Stats returns a copy of the counters.
func (h *Handler) Stats() Stats {
	h.mu.Lock()
	defer h.mu.Unlock()
	s := h.stats
	s.Documents = append([]string(nil), s.Documents...)
	s.Header = s.Header.Clone()
	return s
}

type request struct {
	Query         string         `json:"query"`
	OperationName string         `json:"operationName"`
	Variables     map[string]any `json:"variables"`
}

type response struct {
	Data   any        `json:"data,omitempty"`
	Errors []gqlError `json:"errors,omitempty"`
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/graphql" {
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "use POST", http.StatusMethodNotAllowed)
		return
	}
	h.mu.Lock()
	mode := h.mode
	h.stats.Header = r.Header.Clone()
	h.mu.Unlock()

	// The body is read before any delay: only then does net/http notice a
	// client that gave up, and the delayed handler can return at once.
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		return
	}
	if mode.Delay > 0 {
		t := time.NewTimer(mode.Delay)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		}
	}
	if mode.Status != 0 {
		http.Error(w, fmt.Sprintf("fake Spacelift: injected status %d", mode.Status), mode.Status)
		return
	}
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		http.Error(w, "Content-Type must be application/json", http.StatusUnsupportedMediaType)
		return
	}
	var req request
	if err := json.Unmarshal(body, &req); err != nil {
		writeJSON(w, http.StatusBadRequest, response{Errors: []gqlError{{Message: "malformed request body: " + err.Error()}}})
		return
	}
	writeJSON(w, http.StatusOK, h.execute(r, req, mode))
}

func (h *Handler) execute(r *http.Request, req request, mode Mode) response {
	// nil rules: the full default validation, every rule of the spec.
	doc, errs := gqlparser.LoadQueryWithRules(h.schema, req.Query, nil)
	h.mu.Lock()
	defer h.mu.Unlock()
	h.stats.Documents = append(h.stats.Documents, req.Query)
	if len(errs) > 0 {
		h.stats.Rejected++
		out := make([]gqlError, 0, len(errs))
		for _, e := range errs {
			out = append(out, gqlError{Message: e.Message})
		}
		return response{Errors: out}
	}
	op := doc.Operations.ForName(req.OperationName)
	if op == nil {
		h.stats.Rejected++
		return response{Errors: []gqlError{{Message: "unknown operation " + req.OperationName}}}
	}
	hidden := map[string]bool{}
	for _, f := range mode.HiddenFields {
		hidden[f] = true
	}
	if msg := hiddenFields(doc, op.SelectionSet, hidden, map[string]bool{}); msg != "" {
		h.stats.Rejected++
		return response{Errors: []gqlError{{Message: msg}}}
	}
	vars, err := validator.VariableValues(h.schema, op, req.Variables)
	if err != nil {
		h.stats.Rejected++
		return response{Errors: []gqlError{{Message: err.Error()}}}
	}
	e := &executor{schema: h.schema, doc: doc, vars: vars, fail: func(tf string) string {
		if msg := mode.FieldErrors[tf]; msg != "" {
			return msg
		}
		if mode.MachineSessions {
			switch tf {
			case "Query.publicWorkerPool", "Query.usage", "Query.metrics":
				return MachineSessionMessage
			}
		}
		return ""
	}}
	e.resolve = func(typeName string, f *ast.Field, obj map[string]any) (any, string, bool) {
		return search(typeName, f, obj, vars, mode)
	}
	var root map[string]any
	rootType := "Query"
	switch op.Operation {
	case ast.Mutation:
		rootType = "Mutation"
		if r.Header.Get("Authorization") != "" {
			h.stats.ExchangesWithAuth++
		}
		root = h.mutationRoot(op, vars)
	default:
		if !h.authorized(r) {
			h.stats.Unauthorized++
			return response{Errors: []gqlError{{Message: "unauthorized"}}}
		}
		h.stats.Queries++
		for _, sel := range op.SelectionSet {
			if f, ok := sel.(*ast.Field); ok && f.Name == "searchStacks" {
				h.stats.StackSearches++
			}
		}
		root = withBillingPeriod(h.opts.Data, time.Now())
	}
	data := e.selectionSet(root, rootType, op.SelectionSet, nil)
	if data == nil {
		// The null reached the root: data itself is null.
		return response{Data: json.RawMessage("null"), Errors: e.errors}
	}
	return response{Data: data, Errors: e.errors}
}

// mutationRoot resolves the mutations the fake knows; apiKeyUser is the only
// one liftpush uses. Unknown credentials give a null user, as Spacelift's
// API does.
func (h *Handler) mutationRoot(op *ast.OperationDefinition, vars map[string]any) map[string]any {
	root := map[string]any{}
	for _, sel := range op.SelectionSet {
		f, ok := sel.(*ast.Field)
		if !ok || f.Name != "apiKeyUser" {
			continue
		}
		h.stats.Exchanges++
		args := f.ArgumentMap(vars)
		id, _ := args["id"].(string)
		secret, _ := args["secret"].(string)
		if id != h.opts.KeyID || !hmac.Equal([]byte(secret), []byte(h.opts.Secret)) {
			root["apiKeyUser"] = nil
			continue
		}
		until := time.Now().Add(h.opts.TokenTTL).Truncate(time.Second)
		jwt := h.issue(id, until)
		h.tokens[jwt] = until
		root["apiKeyUser"] = map[string]any{"id": id, "jwt": jwt, "validUntil": float64(until.Unix())}
	}
	return root
}

// issue makes a JWT-shaped token (HS256 over a random per-server key), so
// clients that peek at the token see what they would in production.
func (h *Handler) issue(sub string, until time.Time) string {
	h.serial++
	enc := base64.RawURLEncoding
	header := enc.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`))
	claims, _ := json.Marshal(map[string]any{"sub": sub, "exp": until.Unix(), "jti": h.serial})
	payload := enc.EncodeToString(claims)
	mac := hmac.New(sha256.New, h.key)
	mac.Write([]byte(header + "." + payload))
	return header + "." + payload + "." + enc.EncodeToString(mac.Sum(nil))
}

func (h *Handler) authorized(r *http.Request) bool {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		return false
	}
	until, ok := h.tokens[tok]
	return ok && time.Now().Before(until)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
