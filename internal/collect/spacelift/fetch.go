package spacelift

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"time"
)

// machineSessionMessage is what older self-hosted Spacelift answers when an
// API key (a "machine session") asks for publicWorkerPool, usage or metrics.
// The response carries no error code, so the message is all there is.
const machineSessionMessage = "not available for machine sessions"

// maxLoggedErrors bounds the log lines one response can cause.
const maxLoggedErrors = 10

// run executes one query document into q. On an "unauthorized" answer it
// exchanges the API key again and retries once, as Spacelift's exporter
// does: the server may have revoked a token we still believed valid.
func (c *Collector) run(ctx context.Context, q any) (*exchange, error) {
	return c.runWith(ctx, q, nil)
}

// runWith is run with GraphQL variables.
func (c *Collector) runWith(ctx context.Context, q any, vars map[string]any) (*exchange, error) {
	tok, err := c.token(ctx)
	if err != nil {
		return nil, err
	}
	x := &exchange{token: tok}
	err = c.queryWith(ctx, x, q, vars)
	if err != nil && isUnauthorized(x) {
		c.logger.Warn("Spacelift refused the token; exchanging the API key again and retrying once")
		c.jwt = ""
		reflect.ValueOf(q).Elem().SetZero()
		if tok, err = c.exchangeKey(ctx); err != nil {
			return nil, err
		}
		x = &exchange{token: tok}
		err = c.queryWith(ctx, x, q, vars)
		if err != nil && isUnauthorized(x) {
			// A fresh token refused at once: drop it so the next cycle
			// starts over rather than reusing it.
			c.jwt = ""
		}
	}
	if err == nil && !x.hasData {
		err = errors.New("the response has neither data nor errors")
	}
	if err != nil {
		return x, describe(err, x)
	}
	return x, nil
}

// query sends one document. The decoder of shurcooL/graphql walks untrusted
// JSON with reflection; should it ever panic on a malformed answer, that is
// a failed collection, not a crashed process.
func (c *Collector) query(ctx context.Context, x *exchange, q any) error {
	return c.queryWith(ctx, x, q, nil)
}

// queryWith is query with GraphQL variables.
func (c *Collector) queryWith(ctx context.Context, x *exchange, q any, vars map[string]any) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("decoding the response failed: %v", r)
		}
	}()
	return c.gql.Query(withExchange(ctx, x), q, vars)
}

// describe turns a failed exchange into an error that carries every GraphQL
// message with its path, not just the first message.
func describe(err error, x *exchange) error {
	if x == nil || len(x.errors) == 0 {
		return err
	}
	msgs := make([]string, 0, len(x.errors))
	for i, e := range x.errors {
		if i == maxLoggedErrors {
			msgs = append(msgs, fmt.Sprintf("and %d more", len(x.errors)-i))
			break
		}
		if p := e.path(); p != "" {
			msgs = append(msgs, fmt.Sprintf("%s (at %s)", e.Message, p))
		} else {
			msgs = append(msgs, e.Message)
		}
	}
	if err.Error() != x.errors[0].Message {
		// shurcooL/graphql failed on the data before it looked at the
		// errors: keep that too.
		msgs = append(msgs, "decoding data: "+err.Error())
	}
	return &apiError{msg: strings.Join(msgs, "; ")}
}

// apiError is an answer whose "errors" list was not empty.
type apiError struct{ msg string }

func (e *apiError) Error() string { return "the API answered with errors: " + e.msg }

func isMachineSession(x *exchange) bool {
	if x == nil {
		return false
	}
	for _, e := range x.errors {
		if strings.Contains(e.Message, machineSessionMessage) {
			return true
		}
	}
	return false
}

// extrasRejected tells whether a document failed as a whole in a way that
// an unknown extra field explains: a GraphQL validation error ("Cannot query
// field ...") comes with no data at all.
func extrasRejected(x *exchange, err error) bool {
	return err != nil && x != nil && x.status == 200 && !x.hasData && len(x.errors) > 0 &&
		!isUnauthorized(x) && !isMachineSession(x)
}

func (c *Collector) logErrors(x *exchange) {
	if x == nil {
		return
	}
	for i, e := range x.errors {
		if i == maxLoggedErrors {
			c.logger.Warn("Spacelift API returned more errors", "count", len(x.errors)-i)
			return
		}
		c.logger.Warn("Spacelift API returned an error", "message", e.Message, "path", e.path())
	}
}

// runDoc runs the extended document, or the core one when the API already
// rejected the extras; an extended document rejected as a whole is retried
// once with the core selection, and if that one works the extras stay off
// for recheckAfter. It returns the document that was answered.
func (c *Collector) runDoc(ctx context.Context, ext, core any) (any, *exchange, error) {
	if c.noExtras || ext == nil {
		x, err := c.run(ctx, core)
		return core, x, err
	}
	x, err := c.run(ctx, ext)
	if !extrasRejected(x, err) {
		return ext, x, err
	}
	x2, err2 := c.run(ctx, core)
	if err2 == nil || (x2 != nil && x2.hasData) {
		c.noExtras, c.noExtrasSince = true, time.Now()
		c.logger.Warn("This Spacelift API rejects liftpush's extra fields; collecting the series of Spacelift's exporter only",
			"reason", err, "missing_series", strings.Join(extraSeries, ","))
	}
	return core, x2, err2
}

// fetch gathers one snapshot: one combined document normally, one document
// per root while the API refuses some roots to this machine session.
func (c *Collector) fetch(ctx context.Context) (*snapshot, error) {
	snap := &snapshot{}
	n := &nullCheck{}
	if !c.split {
		doc, x, err := c.runDoc(ctx, &combined[publicExt, poolExt, usageExt]{}, &combined[publicCore, poolCore, usageCore]{})
		if !isMachineSession(x) {
			if x != nil {
				c.logErrors(x)
				applyDoc(n, snap, doc, x)
			}
			return snap, errors.Join(append([]error{err}, n.errs...)...)
		}
		c.split, c.splitSince = true, time.Now()
		c.logger.Info("Spacelift refused part of the combined query to this API key; asking for each part on its own from now on")
	}
	err := c.fetchSplit(ctx, snap, n)
	return snap, errors.Join(append([]error{err}, n.errs...)...)
}

// root is one top-level field fetched on its own in split mode.
type root struct {
	name      string
	ext, core any
	series    string
}

// fetchSplit asks for each root in its own document. A root refused with
// "not available for machine sessions" is not a failure: an API key on an
// older self-hosted Spacelift can never read it, and an error every cycle
// would only teach users to ignore liftpush_collector_up. It is logged with
// what it means and which series are missing.
func (c *Collector) fetchSplit(ctx context.Context, snap *snapshot, n *nullCheck) error {
	roots := []root{
		// Worker pools first: they are what autoscalers and alerts read, and
		// they are not gated for machine sessions.
		{"workerPools", &poolsOnly[poolExt]{}, &poolsOnly[poolCore]{}, "spacelift_worker_pool_*"},
		{"publicWorkerPool", &publicOnly[publicExt]{}, &publicOnly[publicCore]{}, "spacelift_public_worker_pool_*"},
		{"usage", &usageOnly[usageExt]{}, &usageOnly[usageCore]{}, "spacelift_current_billing_period_*"},
		{"metrics", nil, &metricsOnly{}, "spacelift_current_stacks_count_by_state, spacelift_current_resources_count_by_drift, spacelift_current_avg_stack_size_by_resource_count, spacelift_current_average_run_duration, spacelift_current_median_run_duration"},
	}
	var errs []error
	var gated, missing []string
	for _, r := range roots {
		doc, x, err := c.runDoc(ctx, r.ext, r.core)
		if isMachineSession(x) {
			gated = append(gated, r.name)
			missing = append(missing, r.series)
			continue
		}
		if x != nil {
			c.logErrors(x)
			applyDoc(n, snap, doc, x)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", r.name, err))
			if ctx.Err() != nil {
				break
			}
		}
	}
	if len(gated) > 0 {
		log := c.logger.Debug
		if !c.gatedLogged {
			log = c.logger.Warn
			c.gatedLogged = true
		}
		log(`Spacelift answers "not available for machine sessions" for some fields: this Spacelift does not let API keys read them (self-hosted releases before August 2026). The other series are collected; these stay missing until Spacelift is upgraded`,
			"fields", strings.Join(gated, ","), "missing_series", strings.Join(missing, ", "))
	}
	return errors.Join(errs...)
}

// applyDoc moves whatever a document holds into the snapshot. The set of
// cases is closed: every document type the collector sends is listed.
func applyDoc(n *nullCheck, s *snapshot, doc any, x *exchange) {
	switch q := doc.(type) {
	case *combined[publicExt, poolExt, usageExt]:
		applyPublic(n, s, q.PublicWorkerPool)
		applyPools(n, s, q.WorkerPools, x)
		applyUsage(n, s, q.Usage, x)
		applyMetrics(n, s, q.Metrics)
	case *combined[publicCore, poolCore, usageCore]:
		applyPublic(n, s, q.PublicWorkerPool)
		applyPools(n, s, q.WorkerPools, x)
		applyUsage(n, s, q.Usage, x)
		applyMetrics(n, s, q.Metrics)
	case *poolsOnly[poolExt]:
		applyPools(n, s, q.WorkerPools, x)
	case *poolsOnly[poolCore]:
		applyPools(n, s, q.WorkerPools, x)
	case *publicOnly[publicExt]:
		applyPublic(n, s, q.PublicWorkerPool)
	case *publicOnly[publicCore]:
		applyPublic(n, s, q.PublicWorkerPool)
	case *usageOnly[usageExt]:
		applyUsage(n, s, q.Usage, x)
	case *usageOnly[usageCore]:
		applyUsage(n, s, q.Usage, x)
	case *metricsOnly:
		applyMetrics(n, s, q.Metrics)
	}
}

// applyPublic: publicWorkerPool is nullable, so null is "no data", not an
// error (errors, if any, were reported by the caller).
func applyPublic[P publicSel](n *nullCheck, s *snapshot, p *P) {
	if p == nil {
		return
	}
	if v, ok := toPublic(n, *p); ok {
		s.public = &v
	}
}

// applyPools: workerPools is non-null, so a null is only legitimate when an
// error nulled the whole of data.
func applyPools[W poolSel](n *nullCheck, s *snapshot, pools []*W, x *exchange) {
	if pools == nil {
		if x.hasData {
			n.fail("workerPools")
		}
		return
	}
	s.pools = make([]workerPool, 0, len(pools))
	seen := make(map[string]struct{}, len(pools))
	for i, w := range pools {
		p, ok := toPool(n, i, w)
		if !ok {
			continue
		}
		if _, dup := seen[p.id]; dup {
			// Two series with one label set would be rejected by the
			// receiver; keep the first and say so.
			n.errs = append(n.errs, fmt.Errorf("workerPools.%d: worker pool id %q appears twice; kept the first", i, p.id))
			continue
		}
		seen[p.id] = struct{}{}
		s.pools = append(s.pools, p)
	}
}

func applyUsage[U usageSel](n *nullCheck, s *snapshot, u *U, x *exchange) {
	if u == nil {
		if x.hasData {
			n.fail("usage")
		}
		return
	}
	if v, ok := toUsage(n, *u); ok {
		s.usage = &v
	}
}

func applyMetrics(n *nullCheck, s *snapshot, m *metricsFields) {
	if m == nil {
		return
	}
	s.metrics = toAggregates(n, m)
}
