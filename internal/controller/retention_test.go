package controller

import (
	"context"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/internal/ecs"
	"github.com/gantry-dev/gantry/internal/store"
	"github.com/gantry-dev/gantry/internal/store/storetest"
)

// Stopped tasks go once their retention passed; running and recently
// stopped ones stay.
func TestRetentionPrunes(t *testing.T) {
	s := storetest.New(t)
	ctx := context.Background()
	now := time.Unix(1700000000, 0)
	put := func(key, status string, stoppedAgo time.Duration) {
		t.Helper()
		rec := &store.TaskRecord{Task: ecs.Task{LastStatus: status}}
		if status == ecs.TaskStopped {
			rec.Task.StoppedAt = ecs.At(now.Add(-stoppedAgo))
		}
		if _, err := s.Commit(ctx, s.Tasks.Create(key, rec)); err != nil {
			t.Fatal(err)
		}
	}
	put("c/old", ecs.TaskStopped, 2*time.Hour)
	put("c/new", ecs.TaskStopped, 10*time.Minute)
	put("c/run", ecs.TaskRunning, 0)
	r := &Retention{Store: s, Keep: time.Hour, Now: func() time.Time { return now }}
	n, err := r.Prune(ctx)
	if err != nil || n != 1 {
		t.Fatalf("Prune = %d, %v; want 1", n, err)
	}
	for key, want := range map[string]bool{"c/old": false, "c/new": true, "c/run": true} {
		if _, ok := s.Tasks.Get(key); ok != want {
			t.Errorf("%s present = %v, want %v", key, ok, want)
		}
	}
}
