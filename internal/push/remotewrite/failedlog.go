package remotewrite

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"

	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/prompb"

	"github.com/liftpush/liftpush/internal/config"
)

// maxLoggedSeries caps the series of one failed request in the debug log:
// a batch has up to max_samples_per_send of them.
const maxLoggedSeries = 100

// failedRequestLogger is failed_request_logging: every attempt that fails
// is logged at debug level with the series it carried, so that a 400 for
// an out-of-order or invalid sample can be traced to its series.
// Prometheus logs remote-write 2.0 requests only; liftpush logs both
// messages, decoded alike.
type failedRequestLogger struct {
	WriteClient
	logger *slog.Logger
}

// Store implements WriteClient.
func (l *failedRequestLogger) Store(ctx context.Context, body []byte, message string, attempt int) (Result, error) {
	res, err := l.WriteClient.Store(ctx, body, message, attempt)
	if err != nil && l.logger.Enabled(ctx, slog.LevelDebug) {
		req, derr := describeRequest(body, message)
		if derr != nil {
			req = "<undecodable: " + derr.Error() + ">"
		}
		l.logger.Debug("failed to send remote write request", "protobuf_message", message, "attempt", attempt, "err", err, "req", req)
	}
	return res, err
}

// describeRequest renders a request body as one series a line, labels and
// samples, then its metadata count.
func describeRequest(body []byte, message string) (string, error) {
	if message == config.WriteRequestV2 {
		var err error
		if body, err = v2ToV1(body); err != nil {
			return "", err
		}
	}
	raw, err := snappy.Decode(nil, body)
	if err != nil {
		return "", fmt.Errorf("snappy: %w", err)
	}
	var req prompb.WriteRequest
	if err := req.Unmarshal(raw); err != nil {
		return "", err
	}
	var b strings.Builder
	for i, ts := range req.Timeseries {
		if i == maxLoggedSeries {
			fmt.Fprintf(&b, "... and %d more series\n", len(req.Timeseries)-i)
			break
		}
		b.WriteByte('{')
		for j, l := range ts.Labels {
			if j > 0 {
				b.WriteByte(',')
			}
			b.WriteString(l.Name + "=" + strconv.Quote(l.Value))
		}
		b.WriteByte('}')
		for _, s := range ts.Samples {
			b.WriteString(" " + strconv.FormatFloat(s.Value, 'g', -1, 64) + "@" + strconv.FormatInt(s.Timestamp, 10))
		}
		b.WriteByte('\n')
	}
	fmt.Fprintf(&b, "%d series, %d metadata", len(req.Timeseries), len(req.Metadata))
	return b.String(), nil
}
