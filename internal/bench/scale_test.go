package bench

import (
	"bytes"
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/google/go-cmp/cmp"
)

// TestRunScaleSmall runs the harness at a tiny size and checks that the
// report's last line parses and that every task ended RUNNING. It asserts
// no timing.
func TestRunScaleSmall(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var out bytes.Buffer
	res, err := RunScale(ctx, ScaleOptions{Instances: 3, Tasks: 30, Concurrency: 4, Strategy: "spread:attribute:ecs.availability-zone", Out: &out})
	t.Logf("report:\n%s", out.String())
	if err != nil {
		t.Fatalf("RunScale: %v", err)
	}
	checkLastLine(t, out.String(), []string{"seconds", "tasks_per_sec", "runtask_p50_ms", "runtask_p99_ms", "rss_mb", "etcd_mb"},
		map[string]float64{"tasks": 30, "instances": 3, "failures": 0, "running": 30, "not_running": 0})
	if res.Placed != 30 || res.Running != 30 || res.RunTask.Requests != 3 || res.RunTask.Errors != 0 {
		t.Errorf("result: placed %d running %d, RunTask %+v; want 30 placed and RUNNING in 3 calls", res.Placed, res.Running, res.RunTask)
	}
}

// checkLastLine checks that the report's last line is key=number pairs
// that hold every key of has and the values of want.
func checkLastLine(t *testing.T, report string, has []string, want map[string]float64) {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(report), "\n")
	kv := map[string]float64{}
	for field := range strings.FieldsSeq(lines[len(lines)-1]) {
		k, v, ok := strings.Cut(field, "=")
		n, err := strconv.ParseFloat(v, 64)
		if !ok || err != nil {
			t.Fatalf("last line: %q is not key=number", field)
		}
		kv[k] = n
	}
	for _, key := range has {
		if _, ok := kv[key]; !ok {
			t.Errorf("last line lacks %s=", key)
		}
	}
	for k, v := range want {
		if kv[k] != v {
			t.Errorf("last line: %s=%v, want %v", k, kv[k], v)
		}
	}
}

func TestScaleOptionsCapacity(t *testing.T) {
	opts := ScaleOptions{Instances: 2, Tasks: 257}
	if err := opts.setDefaults(); err == nil || !strings.Contains(err.Error(), "use at least 3 instances") {
		t.Errorf("257 tasks on 2 instances: err = %v, want one asking for 3 instances", err)
	}
	opts = ScaleOptions{Instances: 2, Tasks: 256}
	if err := opts.setDefaults(); err != nil {
		t.Errorf("256 tasks on 2 instances: %v", err)
	}
}

func TestParseStrategy(t *testing.T) {
	tests := []struct {
		in      string
		want    []types.PlacementStrategy
		wantErr bool
	}{
		{in: ""},
		{in: "none"},
		{in: "random", want: []types.PlacementStrategy{{Type: "random"}}},
		{in: "binpack:memory", want: []types.PlacementStrategy{{Type: "binpack", Field: aws.String("memory")}}},
		{in: "spread:attribute:ecs.availability-zone, binpack:cpu", want: []types.PlacementStrategy{
			{Type: "spread", Field: aws.String("attribute:ecs.availability-zone")},
			{Type: "binpack", Field: aws.String("cpu")},
		}},
		{in: "firstfit", wantErr: true},
	}
	for _, tt := range tests {
		got, err := parseStrategy(tt.in)
		if (err != nil) != tt.wantErr {
			t.Errorf("parseStrategy(%q) error = %v, want error %v", tt.in, err, tt.wantErr)
			continue
		}
		if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(types.PlacementStrategy{})); diff != "" {
			t.Errorf("parseStrategy(%q) (-want +got):\n%s", tt.in, diff)
		}
	}
}

func TestParsePeakRSS(t *testing.T) {
	status := []byte("Name:\tgantry\nVmHWM:\t   20000 kB\nVmRSS:\t   12345 kB\n")
	if got, err := parseStatusKB(status, "VmHWM"); err != nil || got != 20000*1024 {
		t.Errorf("parseStatusKB(VmHWM) = %d, %v; want %d", got, err, 20000*1024)
	}
	if _, err := readPeakRSS(); err != nil {
		t.Errorf("readPeakRSS: %v", err)
	}
}
