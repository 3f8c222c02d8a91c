package store_test

import (
	"context"
	"testing"

	"github.com/gantry-dev/gantry/internal/store"
	"github.com/gantry-dev/gantry/internal/store/storetest"
)

// The host index follows every put, move and delete, and Changed wakes
// waiters when the cache advances.
func TestTasksByHost(t *testing.T) {
	t.Parallel()
	s := storetest.New(t)
	ctx := context.Background()
	changed := s.Changed()
	put := func(key, host string) {
		t.Helper()
		var w store.Write
		if it, ok := s.Tasks.Get(key); ok {
			w = s.Tasks.Replace(key, &store.TaskRecord{HostID: host}, it.ModRevision)
		} else {
			w = s.Tasks.Create(key, &store.TaskRecord{HostID: host})
		}
		if _, err := s.Commit(ctx, w); err != nil {
			t.Fatal(err)
		}
	}
	keys := func(host string) []string {
		var out []string
		for _, it := range s.Tasks.By(store.ByHost, host) {
			out = append(out, it.Key)
		}
		return out
	}
	put("c/b", "h1")
	put("c/a", "h1")
	put("c/c", "h2")
	select {
	case <-changed:
	default:
		t.Fatal("Changed was not closed by a commit")
	}
	if got := keys("h1"); len(got) != 2 || got[0] != "c/a" || got[1] != "c/b" {
		t.Fatalf("h1 = %v, want [c/a c/b]", got)
	}
	put("c/a", "h2")
	if got := keys("h1"); len(got) != 1 || got[0] != "c/b" {
		t.Fatalf("after move h1 = %v, want [c/b]", got)
	}
	it, _ := s.Tasks.Get("c/c")
	if _, err := s.Commit(ctx, s.Tasks.Delete("c/c", it.ModRevision)); err != nil {
		t.Fatal(err)
	}
	if got := keys("h2"); len(got) != 1 || got[0] != "c/a" {
		t.Fatalf("after delete h2 = %v, want [c/a]", got)
	}
}
