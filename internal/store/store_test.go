package store_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/internal/etcdserver"
	"github.com/gantry-dev/gantry/internal/store"
	"github.com/gantry-dev/gantry/internal/store/storetest"
)

func TestCreateGetAndConflict(t *testing.T) {
	t.Parallel()
	s := storetest.New(t)
	ctx := context.Background()
	rec := &store.FamilyRecord{Family: "web", LastRevision: 1}
	if _, err := s.Commit(ctx, s.Families.Create("web", rec)); err != nil {
		t.Fatal(err)
	}
	item, ok := s.Families.Get("web")
	if !ok || item.Value.LastRevision != 1 {
		t.Fatalf("Get(web) = %+v, %v; want revision 1 visible right after commit", item, ok)
	}
	if _, err := s.Commit(ctx, s.Families.Create("web", rec)); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("second Create = %v, want ErrConflict", err)
	}
	stale := item.ModRevision
	if _, err := s.Commit(ctx, s.Families.Replace("web", rec, stale)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Commit(ctx, s.Families.Replace("web", rec, stale)); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("Replace at a stale revision = %v, want ErrConflict", err)
	}
}

// Concurrent read-modify-write cycles must never lose an update.
func TestUpdateNeverLosesConcurrentWrites(t *testing.T) {
	t.Parallel()
	s := storetest.New(t)
	ctx := context.Background()
	if _, err := s.Commit(ctx, s.Families.Create("f", &store.FamilyRecord{Family: "f"})); err != nil {
		t.Fatal(err)
	}
	const writers, each = 8, 10
	var wg sync.WaitGroup
	for range writers {
		wg.Go(func() {
			for range each {
				_, err := s.Families.Update(ctx, "f", func(r *store.FamilyRecord) error {
					r.LastRevision++
					return nil
				})
				if err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	item, _ := s.Families.Get("f")
	if got := item.Value.LastRevision; got != writers*each {
		t.Fatalf("after %d increments LastRevision = %d", writers*each, got)
	}
}

func TestUpdateMissingAndCallbackError(t *testing.T) {
	t.Parallel()
	s := storetest.New(t)
	ctx := context.Background()
	_, err := s.Families.Update(ctx, "nope", func(*store.FamilyRecord) error { return nil })
	if !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Update(missing) = %v, want ErrNotFound", err)
	}
	s.Commit(ctx, s.Families.Create("x", &store.FamilyRecord{Family: "x"}))
	boom := errors.New("boom")
	if _, err := s.Families.Update(ctx, "x", func(*store.FamilyRecord) error { return boom }); err != boom {
		t.Fatalf("Update = %v, want the callback's error", err)
	}
}

func TestKeysOrderBySegment(t *testing.T) {
	t.Parallel()
	s := storetest.New(t)
	ctx := context.Background()
	keys := []string{"a-b/0000000001", "a/0000000002", "a/0000000010", "a_c/0000000001", "b/0000000001"}
	for _, k := range keys {
		if _, err := s.Commit(ctx, s.TaskDefinitions.Create(k, &store.TaskDefinitionRecord{})); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	s.TaskDefinitions.Ascend("", func(it *store.Item[store.TaskDefinitionRecord]) bool {
		got = append(got, it.Key)
		return true
	})
	want := fmt.Sprint([]string{"a/0000000002", "a/0000000010", "a-b/0000000001", "a_c/0000000001", "b/0000000001"})
	if fmt.Sprint(got) != want {
		t.Fatalf("order = %v, want %v", got, want)
	}
}

// A second server on the same etcd sees writes through its own watch, and a
// restarted store loads everything back.
func TestWatchAndReload(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	etcd, err := etcdserver.Start(ctx, etcdserver.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer etcd.Close()
	a, err := store.Open(ctx, store.Options{Client: etcd.Client()})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := store.Open(ctx, store.Options{Client: etcd.Client()})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 50 {
		k := fmt.Sprintf("f%d", i)
		if _, err := a.Commit(ctx, a.Families.Create(k, &store.FamilyRecord{Family: k})); err != nil {
			t.Fatal(err)
		}
	}
	wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := b.WaitRevision(wctx, a.Revision()); err != nil {
		t.Fatal(err)
	}
	if b.Families.Len() != 50 {
		t.Fatalf("watching store has %d families, want 50", b.Families.Len())
	}
	b.Close()
	c, err := store.Open(ctx, store.Options{Client: etcd.Client()})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if c.Families.Len() != 50 {
		t.Fatalf("reopened store has %d families, want 50", c.Families.Len())
	}
}

// An observer sees what was cached before it subscribed, then every put and
// delete in commit order.
func TestObserveReplaysThenFollows(t *testing.T) {
	t.Parallel()
	s := storetest.New(t)
	ctx := context.Background()
	if _, err := s.Commit(ctx, s.Families.Create("a", &store.FamilyRecord{Family: "a"})); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var seen []string
	s.Families.Observe(func(old, cur *store.Item[store.FamilyRecord]) {
		mu.Lock()
		defer mu.Unlock()
		switch {
		case cur == nil:
			seen = append(seen, "delete "+old.Key)
		case old == nil:
			seen = append(seen, fmt.Sprintf("put %s %d", cur.Key, cur.Value.LastRevision))
		default:
			seen = append(seen, fmt.Sprintf("update %s %d→%d", cur.Key, old.Value.LastRevision, cur.Value.LastRevision))
		}
	})
	if _, err := s.Families.Update(ctx, "a", func(r *store.FamilyRecord) error { r.LastRevision = 2; return nil }); err != nil {
		t.Fatal(err)
	}
	item, _ := s.Families.Get("a")
	if _, err := s.Commit(ctx, s.Families.Delete("a", item.ModRevision)); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	want := []string{"put a 0", "update a 0→2", "delete a"}
	if fmt.Sprint(seen) != fmt.Sprint(want) {
		t.Fatalf("observed %q, want %q", seen, want)
	}
}
