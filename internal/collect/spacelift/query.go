package spacelift

import "fmt"

// The GraphQL documents. shurcooL/graphql derives each query from a struct
// type, so a selection is a type. Every leaf is a pointer: a null where the
// schema declares non-null must be an error, and a plain int would read it
// as 0.
//
// Each root comes in a core selection (exactly what Spacelift's exporter
// reads) and an extended one that adds liftpush's extras. An API that does
// not know an extra field rejects the whole document, so the collector falls
// back to the core selection (see Collector.fetch).

type publicCore struct {
	Parallelism *int `graphql:"parallelism"`
	BusyWorkers *int `graphql:"busyWorkers"`
	PendingRuns *int `graphql:"pendingRuns"`
}

// The extended selections embed their core one: shurcooL/graphql inlines an
// embedded struct both when it writes the query and when it decodes.
type publicExt struct {
	publicCore
	SchedulableRunsCount *int             `graphql:"schedulableRunsCount"`
	SchedulableRuns      *schedulableRuns `graphql:"searchSchedulableRuns(input: {first: 50, orderBy: {field: \"position\", direction: \"ASC\"}})"`
}

// schedulableRuns is the first page of a pool's queue, in the order the
// scheduler takes it (issue 13). Only createdAt is read: the earliest of the
// page is the queue's age. A priority run jumps ahead, so the oldest run is
// not necessarily at position 1; it may even be on a later page, which one
// page of 50 accepts (README: Spacelift).
type schedulableRuns struct {
	Edges []*struct {
		Node *struct {
			Run *struct {
				CreatedAt *int64 `graphql:"createdAt"`
			} `graphql:"run"`
		} `graphql:"node"`
	} `graphql:"edges"`
}

type workerCore struct {
	Drained *bool `graphql:"drained"`
}

type workerExt struct {
	Busy    *bool `graphql:"busy"`
	Drained *bool `graphql:"drained"`
}

type poolCore struct {
	ID          *string      `graphql:"id"`
	Name        *string      `graphql:"name"`
	PendingRuns *int         `graphql:"pendingRuns"`
	BusyWorkers *int         `graphql:"busyWorkers"`
	Workers     []workerCore `graphql:"workers"`
}

type poolExt struct {
	ID                   *string          `graphql:"id"`
	Name                 *string          `graphql:"name"`
	PendingRuns          *int             `graphql:"pendingRuns"`
	BusyWorkers          *int             `graphql:"busyWorkers"`
	SchedulableRunsCount *int             `graphql:"schedulableRunsCount"`
	Workers              []workerExt      `graphql:"workers"`
	SchedulableRuns      *schedulableRuns `graphql:"searchSchedulableRuns(input: {first: 50, orderBy: {field: \"position\", direction: \"ASC\"}})"`
}

type usageCore struct {
	BillingPeriodStart *int64 `graphql:"billingPeriodStart"`
	BillingPeriodEnd   *int64 `graphql:"billingPeriodEnd"`
	UsedPrivateMinutes *int64 `graphql:"usedPrivateMinutes"`
	UsedPublicMinutes  *int64 `graphql:"usedPublicMinutes"`
	UsedSeats          *int64 `graphql:"usedSeats"`
}

type usageExt struct {
	usageCore
	UsedWorkers    *int64 `graphql:"usedWorkers"`
	AllowedMinutes *int64 `graphql:"allowedMinutes"`
	AllowedSeats   *int64 `graphql:"allowedSeats"`
}

type dataPointFields struct {
	Value  *float64  `graphql:"value"`
	Labels []*string `graphql:"labels"`
}

type metricsFields struct {
	StacksCountByState          []*dataPointFields `graphql:"stacksCountByState"`
	ResourcesCountByDrift       []*dataPointFields `graphql:"resourcesCountByDrift"`
	AvgStackSizeByResourceCount []*dataPointFields `graphql:"avgStackSizeByResourceCount"`
	AverageRunDuration          []*dataPointFields `graphql:"averageRunDuration"`
	MedianRunDuration           []*dataPointFields `graphql:"medianRunDuration"`
}

// Section types: constraints that turn a core or extended selection into
// the snapshot's model.
type (
	publicSel interface {
		publicCore | publicExt
	}
	poolSel interface {
		poolCore | poolExt
	}
	usageSel interface {
		usageCore | usageExt
	}
)

// combined is the one document of a normal cycle.
type combined[P publicSel, W poolSel, U usageSel] struct {
	PublicWorkerPool *P             `graphql:"publicWorkerPool"`
	WorkerPools      []*W           `graphql:"workerPools"`
	Usage            *U             `graphql:"usage"`
	Metrics          *metricsFields `graphql:"metrics"`
}

// The single-root documents, used when the combined document fails because
// the API refuses some roots to machine sessions: in GraphQL a failing
// non-null root (usage: Usage!) nulls all of data, so the roots that do
// work must be asked for on their own.
type (
	publicOnly[P publicSel] struct {
		PublicWorkerPool *P `graphql:"publicWorkerPool"`
	}
	poolsOnly[W poolSel] struct {
		WorkerPools []*W `graphql:"workerPools"`
	}
	usageOnly[U usageSel] struct {
		Usage *U `graphql:"usage"`
	}
	metricsOnly struct {
		Metrics *metricsFields `graphql:"metrics"`
	}
)

// SearchInput is the API's input type of the search connections. The Go
// type's name is the GraphQL type's: shurcooL/graphql declares a variable
// with the name of its Go type.
type SearchInput struct {
	First int     `json:"first"`
	After *string `json:"after,omitempty"`
}

// stacksPage is one page of the opt-in stack listing (spacelift.stacks).
type stacksPage struct {
	SearchStacks *struct {
		Edges []*struct {
			Node *struct {
				ID    *string `graphql:"id"`
				Name  *string `graphql:"name"`
				Space *string `graphql:"space"`
				State *string `graphql:"state"`
			} `graphql:"node"`
		} `graphql:"edges"`
		PageInfo *struct {
			EndCursor   *string `graphql:"endCursor"`
			HasNextPage *bool   `graphql:"hasNextPage"`
		} `graphql:"pageInfo"`
	} `graphql:"searchStacks(input: $input)"`
}

// snapshot is what one cycle learned; nil and empty parts were not
// available.
type snapshot struct {
	public  *publicPool
	pools   []workerPool
	usage   *usage
	metrics *aggregates
	stacks  []stack
}

// answered tells whether any root came back.
func (s *snapshot) answered() bool {
	return s.public != nil || s.pools != nil || s.usage != nil || s.metrics != nil
}

type publicPool struct {
	parallelism, busy, pending float64
	schedulable                *float64
	// oldestRun is the earliest createdAt on the first page of the queue;
	// nil for an empty queue.
	oldestRun *float64
}

type workerPool struct {
	id, name                      string
	pending, busy, total, drained float64
	idle, schedulable, oldestRun  *float64
}

type stack struct {
	id, name, space, state string
}

type usage struct {
	start, end, usedPrivateMinutes, usedPublicMinutes, usedSeats float64
	usedWorkers, allowedMinutes, allowedSeats                    *float64
}

type dataPoint struct {
	value  float64
	labels []string
}

type aggregates struct {
	stacksByState, resourcesByDrift, avgStackSize, avgRunDuration, medianRunDuration []dataPoint
}

// nullCheck collects violations of the schema's non-null declarations while
// a selection is turned into the model, so that one bad pool costs that
// pool, not the cycle.
type nullCheck struct {
	errs []error
}

func (n *nullCheck) fail(path string) {
	n.errs = append(n.errs, fmt.Errorf("the response has null at %s, which the schema declares non-null", path))
}

func num[T int | int64 | float64](n *nullCheck, ok *bool, v *T, path string) float64 {
	if v == nil {
		n.fail(path)
		*ok = false
		return 0
	}
	return float64(*v)
}

func optNum[T int | int64](v *T) *float64 {
	if v == nil {
		return nil
	}
	f := float64(*v)
	return &f
}

func toPublic[P publicSel](n *nullCheck, p P) (publicPool, bool) {
	switch v := any(p).(type) {
	case publicExt:
		out, ok := toPublic(n, v.publicCore)
		out.schedulable = optNum(v.SchedulableRunsCount)
		if v.SchedulableRunsCount == nil {
			n.fail("publicWorkerPool.schedulableRunsCount")
		}
		out.oldestRun = oldestRun(n, v.SchedulableRuns, "publicWorkerPool.searchSchedulableRuns")
		return out, ok
	case publicCore:
		ok := true
		return publicPool{
			parallelism: num(n, &ok, v.Parallelism, "publicWorkerPool.parallelism"),
			busy:        num(n, &ok, v.BusyWorkers, "publicWorkerPool.busyWorkers"),
			pending:     num(n, &ok, v.PendingRuns, "publicWorkerPool.pendingRuns"),
		}, ok
	}
	return publicPool{}, false
}

func toPool[W poolSel](n *nullCheck, i int, w *W) (workerPool, bool) {
	at := func(f string) string { return fmt.Sprintf("workerPools.%d.%s", i, f) }
	if w == nil {
		n.fail(fmt.Sprintf("workerPools.%d", i))
		return workerPool{}, false
	}
	ok := true
	str := func(s *string, f string) string {
		if s == nil {
			n.fail(at(f))
			ok = false
			return ""
		}
		return *s
	}
	var out workerPool
	switch v := any(*w).(type) {
	case poolCore:
		out = workerPool{
			id: str(v.ID, "id"), name: str(v.Name, "name"),
			pending: num(n, &ok, v.PendingRuns, at("pendingRuns")),
			busy:    num(n, &ok, v.BusyWorkers, at("busyWorkers")),
		}
		if v.Workers == nil {
			n.fail(at("workers"))
			return out, false
		}
		for j, wk := range v.Workers {
			if wk.Drained == nil {
				n.fail(at(fmt.Sprintf("workers.%d.drained", j)))
				ok = false
				continue
			}
			out.total++
			if *wk.Drained {
				out.drained++
			}
		}
	case poolExt:
		out = workerPool{
			id: str(v.ID, "id"), name: str(v.Name, "name"),
			pending:     num(n, &ok, v.PendingRuns, at("pendingRuns")),
			busy:        num(n, &ok, v.BusyWorkers, at("busyWorkers")),
			schedulable: optNum(v.SchedulableRunsCount),
		}
		if v.SchedulableRunsCount == nil {
			n.fail(at("schedulableRunsCount"))
		}
		out.oldestRun = oldestRun(n, v.SchedulableRuns, at("searchSchedulableRuns"))
		if v.Workers == nil {
			n.fail(at("workers"))
			return out, false
		}
		var idle float64
		for j, wk := range v.Workers {
			if wk.Drained == nil || wk.Busy == nil {
				n.fail(at(fmt.Sprintf("workers.%d", j)))
				ok = false
				continue
			}
			out.total++
			if *wk.Drained {
				out.drained++
			}
			if !*wk.Busy && !*wk.Drained {
				idle++
			}
		}
		out.idle = &idle
	}
	return out, ok
}

// oldestRun returns the earliest createdAt of a page of schedulable runs,
// nil when the page is empty. A run without createdAt (the field is
// nullable) does not count; a broken edge is reported and skipped, and costs
// only this series.
func oldestRun(n *nullCheck, page *schedulableRuns, path string) *float64 {
	if page == nil || page.Edges == nil {
		n.fail(path)
		return nil
	}
	var oldest *float64
	for i, e := range page.Edges {
		if e == nil || e.Node == nil || e.Node.Run == nil {
			n.fail(fmt.Sprintf("%s.edges.%d", path, i))
			continue
		}
		if c := e.Node.Run.CreatedAt; c != nil && (oldest == nil || float64(*c) < *oldest) {
			f := float64(*c)
			oldest = &f
		}
	}
	return oldest
}

func toUsage[U usageSel](n *nullCheck, u U) (usage, bool) {
	switch v := any(u).(type) {
	case usageExt:
		out, ok := toUsage(n, v.usageCore)
		out.usedWorkers = optNum(v.UsedWorkers)
		out.allowedMinutes = optNum(v.AllowedMinutes)
		out.allowedSeats = optNum(v.AllowedSeats)
		for _, f := range []struct {
			name string
			v    *int64
		}{{"usedWorkers", v.UsedWorkers}, {"allowedMinutes", v.AllowedMinutes}, {"allowedSeats", v.AllowedSeats}} {
			if f.v == nil {
				n.fail("usage." + f.name)
			}
		}
		return out, ok
	case usageCore:
		ok := true
		return usage{
			start:              num(n, &ok, v.BillingPeriodStart, "usage.billingPeriodStart"),
			end:                num(n, &ok, v.BillingPeriodEnd, "usage.billingPeriodEnd"),
			usedPrivateMinutes: num(n, &ok, v.UsedPrivateMinutes, "usage.usedPrivateMinutes"),
			usedPublicMinutes:  num(n, &ok, v.UsedPublicMinutes, "usage.usedPublicMinutes"),
			usedSeats:          num(n, &ok, v.UsedSeats, "usage.usedSeats"),
		}, ok
	}
	return usage{}, false
}

func toPoints(n *nullCheck, in []*dataPointFields, path string) ([]dataPoint, bool) {
	if in == nil {
		n.fail(path)
		return nil, false
	}
	out := make([]dataPoint, 0, len(in))
	ok := true
	for i, p := range in {
		if p == nil || p.Value == nil || p.Labels == nil {
			n.fail(fmt.Sprintf("%s.%d", path, i))
			ok = false
			continue
		}
		dp := dataPoint{value: *p.Value, labels: make([]string, 0, len(p.Labels))}
		for j, l := range p.Labels {
			if l == nil {
				n.fail(fmt.Sprintf("%s.%d.labels.%d", path, i, j))
				ok = false
				continue
			}
			dp.labels = append(dp.labels, *l)
		}
		out = append(out, dp)
	}
	return out, ok
}

func toAggregates(n *nullCheck, m *metricsFields) *aggregates {
	var a aggregates
	a.stacksByState, _ = toPoints(n, m.StacksCountByState, "metrics.stacksCountByState")
	a.resourcesByDrift, _ = toPoints(n, m.ResourcesCountByDrift, "metrics.resourcesCountByDrift")
	a.avgStackSize, _ = toPoints(n, m.AvgStackSizeByResourceCount, "metrics.avgStackSizeByResourceCount")
	a.avgRunDuration, _ = toPoints(n, m.AverageRunDuration, "metrics.averageRunDuration")
	a.medianRunDuration, _ = toPoints(n, m.MedianRunDuration, "metrics.medianRunDuration")
	return &a
}
