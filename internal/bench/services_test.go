package bench

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestRunServicesSmall runs the services harness at a tiny size: every
// phase, a profile per profiled phase, and a last line that parses with
// every service right. It asserts no timing.
func TestRunServicesSmall(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var out bytes.Buffer
	prof := filepath.Join(t.TempDir(), "svc.prof")
	res, err := RunServices(ctx, ServicesOptions{Services: 4, TasksPerService: 2, Instances: 2, Concurrency: 4,
		SteadyWindow: 100 * time.Millisecond, CPUProfile: prof, Out: &out})
	t.Logf("report:\n%s", out.String())
	if err != nil {
		t.Fatalf("RunServices: %v", err)
	}
	checkLastLine(t, out.String(), []string{"create_seconds", "steady_cpu_seconds", "rollout_seconds", "rollout_cpu_seconds"},
		map[string]float64{"services": 4, "tasks": 8, "instances": 2, "create_errors": 0, "update_errors": 0,
			"not_steady": 0, "unsteady": 0, "not_rolled": 0, "running": 8, "others": 0, "bad_services": 0})
	for _, p := range []Phase{res.Create, res.Steady, res.Rollout} {
		if fi, err := os.Stat(p.Profile); err != nil || fi.Size() == 0 {
			t.Errorf("profile %q: %v", p.Profile, err)
		}
	}
}

func TestServicesOptionsCapacity(t *testing.T) {
	opts := ServicesOptions{Services: 129, TasksPerService: 2, Instances: 2}
	if err := opts.setDefaults(); err == nil || !strings.Contains(err.Error(), "use at least 3 instances") {
		t.Errorf("258 tasks on 2 instances: err = %v, want one asking for 3 instances", err)
	}
	opts = ServicesOptions{Services: 128, TasksPerService: 2, Instances: 2}
	if err := opts.setDefaults(); err != nil {
		t.Errorf("256 tasks on 2 instances: %v", err)
	}
}
