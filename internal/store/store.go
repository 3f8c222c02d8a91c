package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// Sentinel errors; callers branch on them with errors.Is.
var (
	ErrNotFound = errors.New("store: not found")
	ErrExists   = errors.New("store: already exists")
	ErrConflict = errors.New("store: changed concurrently")
)

// DefaultPrefix is where Gantry keeps its objects in etcd.
const DefaultPrefix = "/gantry/v1/"

// Options configure a Store.
type Options struct {
	// Client is an etcd client the caller owns. Without one, the store
	// dials Endpoints itself and closes that client on Close.
	Client    *clientv3.Client
	Endpoints []string
	Prefix    string // defaults to DefaultPrefix
	Logger    *slog.Logger
}

// Store is the typed repository: its tables are the object kinds.
type Store struct {
	Clusters        *Table[ClusterRecord]
	TaskDefinitions *Table[TaskDefinitionRecord]
	Families        *Table[FamilyRecord]
	// Instances are container instances, keyed "<cluster>/<id>".
	Instances *Table[InstanceRecord]
	// Capacity is the hosts the control plane manages for FARGATE tasks,
	// keyed "<id>"; they are never container instances.
	Capacity *Table[InstanceRecord]
	// Tasks are keyed "<cluster>/<id>".
	Tasks *Table[TaskRecord]
	// Services are keyed "<cluster>/<name>".
	Services *Table[ServiceRecord]

	cli    *clientv3.Client
	prefix string
	log    *slog.Logger
	tables map[string]cache

	mu      sync.Mutex
	rev     int64         // highest revision the cache has applied
	changed chan struct{} // closed when rev advances

	cancel    context.CancelFunc
	done      chan struct{}
	ownClient bool
}

// cache is one table's view of the watch stream.
type cache interface {
	// applyAll applies one watch response's changes to the table at once,
	// so no reader sees part of a transaction, and returns the keys it
	// could not read.
	applyAll(changes []change, rev int64) map[string]error
	// stage collects a reload beside the live cache; swap replaces the
	// live cache with it at once, so readers never see half a reload.
	stage(key string, value []byte, rev revisions) error
	swap(rev int64)
}

// Open loads every object into the cache and starts the watch that keeps it
// current. Close stops it.
func Open(ctx context.Context, opts Options) (*Store, error) {
	s := &Store{
		cli:     opts.Client,
		prefix:  opts.Prefix,
		log:     opts.Logger,
		tables:  map[string]cache{},
		changed: make(chan struct{}),
		done:    make(chan struct{}),
	}
	if s.prefix == "" {
		s.prefix = DefaultPrefix
	}
	if s.cli == nil {
		cli, err := clientv3.New(clientv3.Config{Endpoints: opts.Endpoints, DialTimeout: 5 * time.Second, Context: ctx})
		if err != nil {
			return nil, fmt.Errorf("store: connect to etcd %v: %w", opts.Endpoints, err)
		}
		s.cli, s.ownClient = cli, true
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.Clusters = newTable[ClusterRecord](s, "clusters")
	s.TaskDefinitions = newTable[TaskDefinitionRecord](s, "taskdefs")
	s.Families = newTable[FamilyRecord](s, "families")
	s.Instances = newTable[InstanceRecord](s, "instances")
	s.Instances.addIndex(ByID, func(r *InstanceRecord) string { return r.ID })
	s.Capacity = newTable[InstanceRecord](s, "capacity")
	s.Tasks = newTable[TaskRecord](s, "tasks")
	s.Tasks.addIndex(ByHost, func(r *TaskRecord) string { return r.HostID })
	s.Tasks.addIndex(ByService, func(r *TaskRecord) string { return r.Service })
	s.Services = newTable[ServiceRecord](s, "services")

	rev, err := s.load(ctx)
	if err != nil {
		if s.ownClient {
			s.cli.Close()
		}
		return nil, err
	}
	wctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	go s.watch(wctx, rev)
	return s, nil
}

// Close stops the watch, and closes the etcd client if the store dialled it.
func (s *Store) Close() {
	s.cancel()
	<-s.done
	if s.ownClient {
		s.cli.Close()
	}
}

// HostGone reports whether a task's host, a container instance or Fargate
// capacity, was deregistered or removed.
func (s *Store) HostGone(id string) bool {
	if _, ok := s.Capacity.Get(id); ok {
		return false
	}
	items := s.Instances.By(ByID, id)
	return len(items) == 0 || items[0].Value.Instance.Status == "INACTIVE"
}

// Healthy reports whether etcd answers a read within ctx.
func (s *Store) Healthy(ctx context.Context) error {
	_, err := s.cli.Get(ctx, s.prefix+"health", clientv3.WithCountOnly())
	return err
}

// load reads the whole prefix at one revision, page by page, into fresh
// caches, swaps them in and returns that revision.
func (s *Store) load(ctx context.Context) (int64, error) {
	end := clientv3.GetPrefixRangeEnd(s.prefix)
	key, rev := s.prefix, int64(0)
	for {
		opts := []clientv3.OpOption{clientv3.WithRange(end), clientv3.WithLimit(1000)}
		if rev != 0 {
			opts = append(opts, clientv3.WithRev(rev))
		}
		resp, err := s.cli.Get(ctx, key, opts...)
		if err != nil {
			return 0, fmt.Errorf("store: load %s: %w", s.prefix, err)
		}
		if rev == 0 {
			rev = resp.Header.Revision
		}
		for _, kv := range resp.Kvs {
			if t, rest, ok := s.route(string(kv.Key)); ok {
				if err := t.stage(rest, kv.Value, revisions{kv.ModRevision, kv.CreateRevision}); err != nil {
					s.log.Error("skipping unreadable record", "key", string(kv.Key), "err", err)
				}
			}
		}
		if !resp.More || len(resp.Kvs) == 0 {
			break
		}
		key = string(resp.Kvs[len(resp.Kvs)-1].Key) + "\x00"
	}
	for _, t := range s.tables {
		t.swap(rev)
	}
	s.advance(rev)
	return rev, nil
}

// watch applies every change after rev to the caches until ctx ends. After a
// compaction it reloads; after any other interruption it resumes.
func (s *Store) watch(ctx context.Context, rev int64) {
	defer close(s.done)
	for ctx.Err() == nil {
		wch := s.cli.Watch(clientv3.WithRequireLeader(ctx), s.prefix,
			clientv3.WithPrefix(), clientv3.WithRev(rev+1), clientv3.WithProgressNotify())
		for resp := range wch {
			if resp.CompactRevision != 0 {
				s.log.Warn("watch fell behind compaction; reloading", "compact_revision", resp.CompactRevision)
				if r, err := s.load(ctx); err == nil {
					rev = r
				}
				break
			}
			if err := resp.Err(); err != nil {
				s.log.Warn("watch interrupted", "err", err)
				break
			}
			rev = s.applyEvents(resp, rev)
		}
		select {
		case <-ctx.Done():
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// change is one event of a watch response for one table.
type change struct {
	key   string // relative to the table
	value []byte // nil for a delete
	rev   revisions
}

func (s *Store) applyEvents(resp clientv3.WatchResponse, rev int64) int64 {
	byTable := map[cache][]change{}
	var order []cache
	for _, ev := range resp.Events {
		rev = ev.Kv.ModRevision
		t, rest, ok := s.route(string(ev.Kv.Key))
		if !ok {
			continue
		}
		c := change{key: rest, rev: revisions{ev.Kv.ModRevision, ev.Kv.CreateRevision}}
		if ev.Type != clientv3.EventTypeDelete {
			c.value = ev.Kv.Value
		}
		if _, seen := byTable[t]; !seen {
			order = append(order, t)
		}
		byTable[t] = append(byTable[t], c)
	}
	for _, t := range order {
		for key, err := range t.applyAll(byTable[t], rev) {
			s.log.Error("skipping unreadable record", "key", key, "err", err)
		}
	}
	// A response without events is a progress notice: everything up to its
	// header revision has been delivered.
	if len(resp.Events) == 0 && resp.Header.Revision > rev {
		rev = resp.Header.Revision
	}
	s.advance(rev)
	return rev
}

// route finds the table a full etcd key belongs to.
func (s *Store) route(key string) (cache, string, bool) {
	kind, rest, ok := strings.Cut(strings.TrimPrefix(key, s.prefix), "/")
	if !ok {
		return nil, "", false
	}
	t, ok := s.tables[kind]
	return t, rest, ok
}

func (s *Store) advance(rev int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if rev <= s.rev {
		return
	}
	s.rev = rev
	close(s.changed)
	s.changed = make(chan struct{})
}

// Changed returns a channel that is closed the next time the cache
// advances. Waiters re-read what they care about and call it again.
func (s *Store) Changed() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.changed
}

// Revision is the etcd revision the cache reflects.
func (s *Store) Revision() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rev
}

// WaitRevision blocks until the cache reflects rev. If the watch is quiet it
// asks etcd for a progress notice, which covers revisions made outside the
// prefix.
func (s *Store) WaitRevision(ctx context.Context, rev int64) error {
	nudge := time.NewTimer(50 * time.Millisecond)
	defer nudge.Stop()
	for {
		s.mu.Lock()
		cur, changed := s.rev, s.changed
		s.mu.Unlock()
		if cur >= rev {
			return nil
		}
		select {
		case <-changed:
		case <-nudge.C:
			s.cli.RequestProgress(clientv3.WithRequireLeader(ctx))
			nudge.Reset(250 * time.Millisecond)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
