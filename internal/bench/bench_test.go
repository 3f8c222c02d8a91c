package bench

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

func TestSummarize(t *testing.T) {
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	var lat []time.Duration
	for i := 100; i >= 1; i-- { // 100ms … 1ms, unsorted on purpose
		lat = append(lat, ms(i))
	}
	tests := []struct {
		name      string
		latencies []time.Duration
		errors    int
		elapsed   time.Duration
		want      Summary
		wantRPS   float64
	}{
		{
			name: "hundred", latencies: lat, errors: 4, elapsed: 2 * time.Second,
			want:    Summary{Requests: 104, Errors: 4, Elapsed: 2 * time.Second, P50: ms(50), P90: ms(90), P99: ms(99), Max: ms(100)},
			wantRPS: 50,
		},
		{
			name: "one", latencies: []time.Duration{ms(7)}, elapsed: time.Second,
			want:    Summary{Requests: 1, Elapsed: time.Second, P50: ms(7), P90: ms(7), P99: ms(7), Max: ms(7)},
			wantRPS: 1,
		},
		{
			name: "three", latencies: []time.Duration{ms(3), ms(1), ms(2)}, elapsed: time.Second,
			want:    Summary{Requests: 3, Elapsed: time.Second, P50: ms(2), P90: ms(3), P99: ms(3), Max: ms(3)},
			wantRPS: 3,
		},
		{
			name: "only errors", errors: 5, elapsed: time.Second,
			want: Summary{Requests: 5, Errors: 5, Elapsed: time.Second},
		},
		{name: "nothing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Summarize(tt.latencies, tt.errors, tt.elapsed)
			if got != tt.want {
				t.Errorf("Summarize = %+v, want %+v", got, tt.want)
			}
			if rps := got.Throughput(); rps != tt.wantRPS {
				t.Errorf("Throughput = %v, want %v", rps, tt.wantRPS)
			}
		})
	}
}

func TestParseVmRSS(t *testing.T) {
	got, err := parseVmRSS([]byte("Name:\tgantry\nVmPeak:\t  9000 kB\nVmRSS:\t   12345 kB\nThreads:\t8\n"))
	if err != nil || got != 12345*1024 {
		t.Errorf("parseVmRSS = %d, %v; want %d", got, err, 12345*1024)
	}
	if _, err := parseVmRSS([]byte("Name:\tgantry\n")); err == nil {
		t.Error("parseVmRSS without a VmRSS line: want an error")
	}
	if _, err := readRSS(); err != nil {
		t.Errorf("readRSS: %v", err)
	}
}

// TestRunAPISmoke runs the benchmark briefly against an in-process server
// and checks the report's shape, not its numbers.
func TestRunAPISmoke(t *testing.T) {
	var out bytes.Buffer
	res, err := RunAPI(context.Background(), APIOptions{Clients: 4, Families: 2, Duration: 300 * time.Millisecond, Out: &out})
	if err != nil {
		t.Fatalf("RunAPI: %v\n%s", err, out.String())
	}
	t.Logf("report:\n%s", out.String())
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	last := lines[len(lines)-1]
	for _, key := range []string{
		"register_rps", "register_p50_ms", "register_p99_ms",
		"describe_rps", "describe_p50_ms", "describe_p99_ms", "idle_rss_mb", "rss_mb",
	} {
		if !strings.Contains(" "+last, " "+key+"=") {
			t.Errorf("last line lacks %s=: %q", key, last)
		}
	}
	if res.Register.Requests == 0 || res.Describe.Requests == 0 {
		t.Errorf("a phase made no requests: %+v", res)
	}
	if res.Register.Errors != 0 || res.Describe.Errors != 0 {
		t.Errorf("errors against a healthy in-process server: %+v\n%s", res, out.String())
	}
}
