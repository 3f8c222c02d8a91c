package bench

import (
	"fmt"
	"io"
	"math"
	"slices"
	"time"
)

// Summary describes one phase of load: how many calls, how fast, and how
// long the successful ones took.
type Summary struct {
	Requests int           // calls made, successful or not
	Errors   int           // calls that failed
	Elapsed  time.Duration // wall time of the phase
	P50      time.Duration
	P90      time.Duration
	P99      time.Duration
	Max      time.Duration
}

// Summarize computes a Summary from the latencies of the successful calls.
// It sorts latencies in place.
func Summarize(latencies []time.Duration, errors int, elapsed time.Duration) Summary {
	slices.Sort(latencies)
	s := Summary{Requests: len(latencies) + errors, Errors: errors, Elapsed: elapsed}
	if len(latencies) > 0 {
		s.P50 = percentile(latencies, 50)
		s.P90 = percentile(latencies, 90)
		s.P99 = percentile(latencies, 99)
		s.Max = latencies[len(latencies)-1]
	}
	return s
}

// percentile is the nearest-rank p-th percentile of sorted (non-empty):
// the smallest value at least p percent of the values are at or below.
func percentile(sorted []time.Duration, p float64) time.Duration {
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	return sorted[min(max(rank, 1), len(sorted))-1]
}

// Throughput is successful calls per second.
func (s Summary) Throughput() float64 {
	if s.Elapsed <= 0 {
		return 0
	}
	return float64(s.Requests-s.Errors) / s.Elapsed.Seconds()
}

// print writes the summary as one line for people.
func (s Summary) print(w io.Writer, name string) {
	fmt.Fprintf(w, "%-9s requests=%d errors=%d throughput=%.1f req/s latency ms p50=%.2f p90=%.2f p99=%.2f max=%.2f\n",
		name+":", s.Requests, s.Errors, s.Throughput(), ms(s.P50), ms(s.P90), ms(s.P99), ms(s.Max))
}

// ms is a duration in fractional milliseconds.
func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
