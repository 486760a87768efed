// Package exposition reads the Prometheus exposition formats (text,
// OpenMetrics, protobuf) into metric families: Parse for a body in memory,
// ParseStream for input of any size in bounded memory, and the sniffing that
// tells OpenMetrics from the text format.
//
// Prometheus' textparse is the reference for what every input means. The
// fast text reader and the stream's record scanner exist for speed and
// bounded memory only; wherever they are unsure they hand the input to
// textparse, and fuzzers hold them to its output.
package exposition
