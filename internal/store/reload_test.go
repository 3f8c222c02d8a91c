package store

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/gantry-dev/gantry/internal/etcdserver"
)

// A reload (after the watch fell behind a compaction) swaps the cache in
// at once: readers never see it half loaded, and observers hear only what
// differs.
func TestReloadSwapsAtOnce(t *testing.T) {
	ctx := context.Background()
	etcd, err := etcdserver.Start(ctx, etcdserver.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer etcd.Close()
	s, err := Open(ctx, Options{Client: etcd.Client()})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	const n = 200
	for i := range n {
		k := fmt.Sprint("f", i)
		if _, err := s.Commit(ctx, s.Families.Create(k, &FamilyRecord{Family: k})); err != nil {
			t.Fatal(err)
		}
	}
	var heard atomic.Int64
	s.Families.Observe(func(old, cur *Item[FamilyRecord]) { heard.Add(1) })
	heard.Store(0)

	stop := make(chan struct{})
	var short atomic.Int64
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			if l := s.Families.Len(); l != n {
				short.Store(int64(l))
			}
		}
	})
	for range 20 {
		if _, err := s.load(ctx); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	wg.Wait()
	if l := short.Load(); l != 0 {
		t.Errorf("a reader saw %d families during a reload, want always %d", l, n)
	}
	if h := heard.Load(); h != 0 {
		t.Errorf("observers heard %d changes from reloads that changed nothing", h)
	}
}

// A transaction's changes appear in the cache together: a reader never
// sees part of one, and the revision it is told matches what it sees.
func TestTransactionAppearsAtOnce(t *testing.T) {
	ctx := context.Background()
	etcd, err := etcdserver.Start(ctx, etcdserver.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer etcd.Close()
	s, err := Open(ctx, Options{Client: etcd.Client()})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	stop := make(chan struct{})
	var bad atomic.Value
	var wg sync.WaitGroup
	wg.Go(func() {
		seen := map[int64]int{}
		for {
			select {
			case <-stop:
				return
			default:
			}
			items, rev := s.Tasks.ByRevision(ByHost, "h")
			if len(items)%50 != 0 {
				bad.Store(fmt.Sprintf("saw %d tasks, part of a transaction", len(items)))
			}
			if n, ok := seen[rev]; ok && n != len(items) {
				bad.Store(fmt.Sprintf("revision %d with %d and with %d tasks", rev, n, len(items)))
			}
			seen[rev] = len(items)
		}
	})
	for round := range 10 {
		var writes []Write
		for i := range 50 {
			writes = append(writes, s.Tasks.Create(fmt.Sprint("c/", round, "-", i), &TaskRecord{HostID: "h"}))
		}
		if _, err := s.Commit(ctx, writes...); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	wg.Wait()
	if msg := bad.Load(); msg != nil {
		t.Error(msg)
	}
}
