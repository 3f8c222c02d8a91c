package store

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/google/btree"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// schemaVersion is written into every envelope; a record from a newer
// Gantry is refused rather than misread.
const schemaVersion = 1

type envelope struct {
	Schema int             `json:"schema"`
	Data   json.RawMessage `json:"data"`
}

// Item is one cached object. Value is shared by every reader and must not
// be modified; Update hands out private copies.
type Item[T any] struct {
	Key         string // relative to the table, e.g. "web/0000000003"
	Value       *T
	ModRevision int64
	// CreateRevision is the revision that created the key.
	CreateRevision int64
}

// revisions are an etcd key's mod and create revisions.
type revisions struct{ mod, create int64 }

// Table is one object kind: a key range in etcd and its ordered cache.
// Keys are ordered segment by segment ("a/2" < "a-b/1"), so families and
// clusters list in name order whatever characters the names hold.
type Table[T any] struct {
	s      *Store
	prefix string // full etcd prefix, ending in "/"

	mu        sync.RWMutex
	tree      *btree.BTreeG[*Item[T]]
	indexes   map[string]*index[T]
	observers []func(old, cur *Item[T])
	next      *btree.BTreeG[*Item[T]] // a reload being staged; watch goroutine only
	rev       int64                   // the revision of the last change applied
}

// index groups a table's cached objects by one derived value.
type index[T any] struct {
	value func(*T) string
	items map[string]map[string]*Item[T] // value → key → item
}

func (ix *index[T]) add(it *Item[T]) {
	v := ix.value(it.Value)
	if v == "" {
		return
	}
	if ix.items[v] == nil {
		ix.items[v] = map[string]*Item[T]{}
	}
	ix.items[v][it.Key] = it
}

func (ix *index[T]) remove(it *Item[T]) {
	v := ix.value(it.Value)
	delete(ix.items[v], it.Key)
	if len(ix.items[v]) == 0 {
		delete(ix.items, v)
	}
}

func newTable[T any](s *Store, kind string) *Table[T] {
	t := &Table[T]{s: s, prefix: s.prefix + kind + "/"}
	t.reset()
	s.tables[kind] = t
	return t
}

func lessItem[T any](a, b *Item[T]) bool { return lessKey(a.Key, b.Key) }

// lessKey compares keys segment by segment.
func lessKey(a, b string) bool {
	for {
		as, arest, amore := strings.Cut(a, "/")
		bs, brest, bmore := strings.Cut(b, "/")
		if as != bs {
			return as < bs
		}
		if !amore || !bmore {
			return !amore && bmore
		}
		a, b = arest, brest
	}
}

// addIndex maintains a secondary index named name over value (objects
// whose value is "" are left out). Open defines indexes before loading.
func (t *Table[T]) addIndex(name string, value func(*T) string) {
	if t.indexes == nil {
		t.indexes = map[string]*index[T]{}
	}
	t.indexes[name] = &index[T]{value: value, items: map[string]map[string]*Item[T]{}}
}

// By returns the cached objects whose index value is v, in key order.
func (t *Table[T]) By(name, v string) []*Item[T] {
	items, _ := t.ByRevision(name, v)
	return items
}

// ByRevision is By with the revision of the table those objects reflect:
// of two reads, the one with the higher revision is the newer.
func (t *Table[T]) ByRevision(name, v string) ([]*Item[T], int64) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	ix, ok := t.indexes[name]
	if !ok {
		panic("store: no index " + name)
	}
	items := make([]*Item[T], 0, len(ix.items[v]))
	for _, it := range ix.items[v] {
		items = append(items, it)
	}
	slices.SortFunc(items, func(a, b *Item[T]) int {
		if lessKey(a.Key, b.Key) {
			return -1
		}
		return 1
	})
	return items, t.rev
}

// Observe calls fn with every cached object (old nil), then with every
// change the cache applies, in order: old and cur are the object before and
// after, cur nil for a delete. fn runs on the watch goroutine, so it must be
// quick and must not call back into the table. A change that lands while
// Observe replays may be reported twice; observers treat cur as the latest
// value of its key.
func (t *Table[T]) Observe(fn func(old, cur *Item[T])) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.tree.Ascend(func(it *Item[T]) bool {
		fn(nil, it)
		return true
	})
	t.observers = append(t.observers, fn)
}

// notify tells the observers, read under the table's lock by the caller,
// about one change; it runs with no lock held.
func notify[T any](obs []func(old, cur *Item[T]), old, cur *Item[T]) {
	for _, fn := range obs {
		fn(old, cur)
	}
}

func (t *Table[T]) reset() {
	t.tree = btree.NewG(32, lessItem[T])
}

func (t *Table[T]) stage(key string, value []byte, rev revisions) error {
	v, err := decode[T](value)
	if err != nil {
		return err
	}
	if t.next == nil {
		t.next = btree.NewG(32, lessItem[T])
	}
	t.next.ReplaceOrInsert(&Item[T]{Key: key, Value: v, ModRevision: rev.mod, CreateRevision: rev.create})
	return nil
}

// swap makes the staged reload the cache, rebuilds the indexes, and tells
// observers what differs: a delete for each object gone, a put for each
// new or changed one.
func (t *Table[T]) swap(rev int64) {
	next := t.next
	if next == nil {
		next = btree.NewG(32, lessItem[T])
	}
	t.next = nil
	t.mu.Lock()
	old := t.tree
	t.tree = next
	t.rev = max(t.rev, rev)
	for _, ix := range t.indexes {
		clear(ix.items)
		next.Ascend(func(it *Item[T]) bool {
			ix.add(it)
			return true
		})
	}
	obs := t.observers
	t.mu.Unlock()
	if len(obs) == 0 {
		return
	}
	old.Ascend(func(it *Item[T]) bool {
		if _, ok := next.Get(it); !ok {
			notify(obs, it, nil)
		}
		return true
	})
	next.Ascend(func(it *Item[T]) bool {
		prev, ok := old.Get(it)
		switch {
		case !ok:
			notify(obs, nil, it)
		case prev.ModRevision != it.ModRevision:
			notify(obs, prev, it)
		}
		return true
	})
}

func (t *Table[T]) applyAll(changes []change, rev int64) map[string]error {
	var errs map[string]error
	items := make([]*Item[T], len(changes))
	for i, c := range changes {
		if c.value == nil {
			continue
		}
		v, err := decode[T](c.value)
		if err != nil {
			if errs == nil {
				errs = map[string]error{}
			}
			errs[c.key] = err
			continue
		}
		items[i] = &Item[T]{Key: c.key, Value: v, ModRevision: c.rev.mod, CreateRevision: c.rev.create}
	}
	type note struct{ old, cur *Item[T] }
	notes := make([]note, 0, len(changes))
	t.mu.Lock()
	for i, c := range changes {
		var old *Item[T]
		var had bool
		switch {
		case c.value == nil:
			old, had = t.tree.Delete(&Item[T]{Key: c.key})
		case items[i] != nil:
			old, had = t.tree.ReplaceOrInsert(items[i])
		default:
			continue // unreadable: the cache keeps what it had
		}
		for _, ix := range t.indexes {
			if had {
				ix.remove(old)
			}
			if items[i] != nil {
				ix.add(items[i])
			}
		}
		if had || items[i] != nil {
			notes = append(notes, note{old, items[i]})
		}
	}
	t.rev = max(t.rev, rev)
	obs := t.observers
	t.mu.Unlock()
	for _, n := range notes {
		notify(obs, n.old, n.cur)
	}
	return errs
}

func decode[T any](raw []byte) (*T, error) {
	var env envelope
	if err := json.Unmarshal(raw, &env); err != nil {
		return nil, fmt.Errorf("decode envelope: %w", err)
	}
	if env.Schema > schemaVersion {
		return nil, fmt.Errorf("record schema %d is newer than this Gantry understands (%d)", env.Schema, schemaVersion)
	}
	v := new(T)
	if err := json.Unmarshal(env.Data, v); err != nil {
		return nil, fmt.Errorf("decode record: %w", err)
	}
	return v, nil
}

func encode[T any](v *T) (string, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	raw, err := json.Marshal(envelope{Schema: schemaVersion, Data: data})
	return string(raw), err
}

// Get returns the cached object at key.
func (t *Table[T]) Get(key string) (*Item[T], bool) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.tree.Get(&Item[T]{Key: key})
}

// Len is the number of cached objects.
func (t *Table[T]) Len() int {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.tree.Len()
}

// Ascend calls fn for each object whose key is at or after from (all objects
// for ""), in key order, until fn returns false.
func (t *Table[T]) Ascend(from string, fn func(*Item[T]) bool) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	if from == "" {
		t.tree.Ascend(fn)
		return
	}
	t.tree.AscendGreaterOrEqual(&Item[T]{Key: from}, fn)
}

// Descend calls fn for each object whose key is at or before from (all
// objects for ""), in reverse key order, until fn returns false.
func (t *Table[T]) Descend(from string, fn func(*Item[T]) bool) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	if from == "" {
		t.tree.Descend(fn)
		return
	}
	t.tree.DescendLessOrEqual(&Item[T]{Key: from}, fn)
}

// Write is one change in a transaction built by a table.
type Write struct {
	cmp   clientv3.Cmp
	op    clientv3.Op
	check bool // compare only: op is empty
	size  int  // bytes of key and value
	err   error
}

// Size is roughly how many bytes the write adds to a transaction.
func (w Write) Size() int { return w.size }

// Create writes v at key if nothing is there.
func (t *Table[T]) Create(key string, v *T) Write {
	return t.put(key, v, clientv3.Compare(clientv3.CreateRevision(t.prefix+key), "=", 0))
}

// Replace writes v at key if the key is still at modRev.
func (t *Table[T]) Replace(key string, v *T, modRev int64) Write {
	return t.put(key, v, clientv3.Compare(clientv3.ModRevision(t.prefix+key), "=", modRev))
}

func (t *Table[T]) put(key string, v *T, cmp clientv3.Cmp) Write {
	raw, err := encode(v)
	return Write{cmp: cmp, op: clientv3.OpPut(t.prefix+key, raw), size: len(t.prefix) + len(key) + len(raw), err: err}
}

// Unchanged writes nothing but makes the transaction fail unless key is
// still at modRev: a decision read from key stays valid when it commits.
func (t *Table[T]) Unchanged(key string, modRev int64) Write {
	return Write{cmp: clientv3.Compare(clientv3.ModRevision(t.prefix+key), "=", modRev), check: true}
}

// Delete removes key if it is still at modRev.
func (t *Table[T]) Delete(key string, modRev int64) Write {
	return Write{
		cmp: clientv3.Compare(clientv3.ModRevision(t.prefix+key), "=", modRev),
		op:  clientv3.OpDelete(t.prefix + key),
	}
}

// Commit applies the writes atomically. It fails with ErrConflict if any key
// changed since it was read, and returns once the cache reflects the commit.
func (s *Store) Commit(ctx context.Context, writes ...Write) (int64, error) {
	cmps := make([]clientv3.Cmp, len(writes))
	ops := make([]clientv3.Op, 0, len(writes))
	for i, w := range writes {
		if w.err != nil {
			return 0, fmt.Errorf("store: encode: %w", w.err)
		}
		cmps[i] = w.cmp
		if !w.check {
			ops = append(ops, w.op)
		}
	}
	resp, err := s.cli.Txn(ctx).If(cmps...).Then(ops...).Commit()
	if err != nil {
		return 0, fmt.Errorf("store: commit: %w", err)
	}
	if !resp.Succeeded {
		// Let the cache catch up with what won, so a retry reads it.
		if err := s.WaitRevision(ctx, resp.Header.Revision); err != nil {
			return 0, err
		}
		return 0, ErrConflict
	}
	rev := resp.Header.Revision
	return rev, s.WaitRevision(ctx, rev)
}

// Fresh reads key straight from etcd (not the cache), for a retry after a
// conflict when the cache may not have caught up yet.
func (t *Table[T]) Fresh(ctx context.Context, key string) (*Item[T], bool, error) {
	resp, err := t.s.cli.Get(ctx, t.prefix+key)
	if err != nil {
		return nil, false, fmt.Errorf("store: get %s: %w", key, err)
	}
	if len(resp.Kvs) == 0 {
		return nil, false, nil
	}
	kv := resp.Kvs[0]
	v, err := decode[T](kv.Value)
	if err != nil {
		return nil, false, fmt.Errorf("store: %s: %w", key, err)
	}
	return &Item[T]{Key: key, Value: v, ModRevision: kv.ModRevision, CreateRevision: kv.CreateRevision}, true, nil
}

// Update changes the object at key with fn, which gets a private copy, and
// writes it back if nothing else changed it meanwhile; on a conflict it reads
// again and retries. It fails with ErrNotFound if key is absent, and returns
// fn's error unchanged.
func (t *Table[T]) Update(ctx context.Context, key string, fn func(v *T) error) (*T, error) {
	item, ok := t.Get(key)
	for attempt := 0; ; attempt++ {
		if !ok {
			return nil, ErrNotFound
		}
		v, err := Clone(item.Value)
		if err != nil {
			return nil, err
		}
		if err := fn(v); err != nil {
			return nil, err
		}
		_, err = t.s.Commit(ctx, t.Replace(key, v, item.ModRevision))
		if err == nil {
			return v, nil
		}
		if err != ErrConflict || attempt == 100 {
			return nil, err
		}
		if item, ok, err = t.Fresh(ctx, key); err != nil {
			return nil, err
		}
	}
}

// Clone deep-copies a record through its JSON form, which is exactly what a
// record is.
func Clone[T any](v *T) (*T, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	c := new(T)
	return c, json.Unmarshal(raw, c)
}
