// Package pushtest holds what the tests of every destination share.
package pushtest

import (
	"context"

	"github.com/liftpush/liftpush/internal/metric"
	"github.com/liftpush/liftpush/internal/push"
)

// Deliver delivers whole groups in one delivery: the shape of a collection
// cycle.
func Deliver(ctx context.Context, d push.Destination, opts push.Options, groups []metric.Group) push.Report {
	dl := d.Open(ctx, opts)
	for i := range groups {
		dl.Write(&groups[i])
	}
	return dl.Close()
}
