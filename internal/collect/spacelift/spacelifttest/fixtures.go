package spacelifttest

import (
	"embed"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"
)

//go:embed fixtures/*.json
var fixtureFS embed.FS

// Fixture returns a named account:
//   - "demo": three private pools (one busy with 12 pending runs, one
//     quiet, one scaled to zero with a name holding "/", quotes and
//     unicode), usage and aggregates; what `make demo` serves. Its queues
//     ("schedulableRuns") hold a priority run at position 1 created after
//     the run at position 2; staging's queue is empty. Its 138 "stacks"
//     (three pages of searchStacks) match stacksCountByState and have
//     names with "/", quotes and unicode;
//   - "empty": a new account, no pools and no aggregates yet;
//   - "names": pool names with "/", quotes, a backslash, unicode, a newline
//     and an empty name, plus malformed data points;
//   - "pools-N" (e.g. "pools-1000"): N generated pools (see Pools).
//
// No fixture holds a billing period: the server answers the one around its
// clock (see BillingPeriod), so that a countdown stays real on any date.
func Fixture(name string) (map[string]any, error) {
	if rest, ok := strings.CutPrefix(name, "pools-"); ok {
		var n int
		if _, err := fmt.Sscanf(rest, "%d", &n); err != nil || n < 0 {
			return nil, fmt.Errorf("fixture %q: want pools-<count>", name)
		}
		return Pools(n), nil
	}
	b, err := fixtureFS.ReadFile("fixtures/" + name + ".json")
	if err != nil {
		return nil, fmt.Errorf("unknown fixture %q; have %s", name, strings.Join(FixtureNames(), ", "))
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("fixture %q: %w", name, err)
	}
	return m, nil
}

// FixtureNames lists the fixtures stored as files, plus the pools-N form.
func FixtureNames() []string {
	entries, _ := fixtureFS.ReadDir("fixtures")
	names := make([]string, 0, len(entries)+1)
	for _, e := range entries {
		names = append(names, strings.TrimSuffix(e.Name(), ".json"))
	}
	sort.Strings(names)
	return append(names, "pools-N")
}

// Pools returns an account with n private pools. Pool i has i%7 workers,
// the first i%3 of them busy and the last one drained when i%4 == 0; it has
// i%13 pending runs.
func Pools(n int) map[string]any {
	pools := make([]any, 0, n)
	for i := range n {
		nw := i % 7
		workers := make([]any, 0, nw)
		busy := 0
		for j := range nw {
			b := j < i%3
			if b {
				busy++
			}
			workers = append(workers, map[string]any{
				"id": fmt.Sprintf("01JW%06d%016d", i, j), "busy": b, "drained": j == nw-1 && i%4 == 0,
				"createdAt": float64(1767225600), "metadata": "{}",
			})
		}
		pools = append(pools, map[string]any{
			"id":                   fmt.Sprintf("01JP%022d", i),
			"name":                 fmt.Sprintf("pool-%04d", i),
			"pendingRuns":          float64(i % 13),
			"busyWorkers":          float64(busy),
			"schedulableRunsCount": float64(i % 5),
			"workers":              workers,
		})
	}
	return map[string]any{
		"publicWorkerPool": map[string]any{"parallelism": float64(10), "busyWorkers": float64(1), "pendingRuns": float64(0), "schedulableRunsCount": float64(0)},
		"workerPools":      pools,
		"usage": map[string]any{
			"usedPrivateMinutes": float64(100000), "usedPublicMinutes": float64(0), "usedSeats": float64(300),
			"usedWorkers": float64(n), "allowedMinutes": float64(1000000), "allowedSeats": float64(500),
		},
		"metrics": map[string]any{
			"stacksCountByState":          []any{map[string]any{"value": float64(n), "labels": []any{"FINISHED"}}},
			"resourcesCountByDrift":       []any{},
			"avgStackSizeByResourceCount": []any{map[string]any{"value": float64(12), "labels": []any{}}},
			"averageRunDuration":          []any{map[string]any{"value": 9e10, "labels": []any{}}},
			"medianRunDuration":           []any{map[string]any{"value": 6e10, "labels": []any{}}},
		},
	}
}

// BillingPeriod is the billing period the fake answers when the account's
// usage does not set one: from the first of now's month (UTC) to the first
// of the next. Tests derive what they expect from it, never from a date.
func BillingPeriod(now time.Time) (start, end time.Time) {
	y, m, _ := now.UTC().Date()
	start = time.Date(y, m, 1, 0, 0, 0, 0, time.UTC)
	return start, start.AddDate(0, 1, 0)
}

// withBillingPeriod returns data whose usage holds a billing period: its own
// if it sets one (a null included), else BillingPeriod(now). data is not
// changed; only the maps on the path are copied.
func withBillingPeriod(data map[string]any, now time.Time) map[string]any {
	usage, ok := data["usage"].(map[string]any)
	if !ok {
		return data
	}
	_, hasStart := usage["billingPeriodStart"]
	_, hasEnd := usage["billingPeriodEnd"]
	if hasStart && hasEnd {
		return data
	}
	start, end := BillingPeriod(now)
	u := make(map[string]any, len(usage)+2)
	for k, v := range usage {
		u[k] = v
	}
	if !hasStart {
		u["billingPeriodStart"] = float64(start.Unix())
	}
	if !hasEnd {
		u["billingPeriodEnd"] = float64(end.Unix())
	}
	d := make(map[string]any, len(data))
	for k, v := range data {
		d[k] = v
	}
	d["usage"] = u
	return d
}
