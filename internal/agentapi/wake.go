package agentapi

import (
	"sync"

	"github.com/gantry-dev/gantry/internal/store"
)

// waiters lets a held sync sleep until its own host's desired state may
// have changed, instead of waking every held sync on every change to the
// store. The store's observers tell it which hosts a change concerns.
type waiters struct {
	// changed is the store's Changed: closed once the cache has applied
	// the revision being observed.
	changed func() <-chan struct{}

	mu    sync.Mutex
	hosts map[string]*hostWaiters
	// missing lists, by task definition key, the hosts whose desired
	// state left out a task because its definition was not in the cache.
	missing map[string]map[string]bool
}

type hostWaiters struct {
	held int
	next *wakeup // nil until one of them waits
}

// wakeup is the next change to one host's desired state. fired is closed
// when the change is in the cache; cached is closed once the cache has
// applied the whole revision that brought it, so that a woken sync never
// reads a cache half way through a batch of events or a reload.
type wakeup struct {
	fired  chan struct{}
	cached <-chan struct{} // set before fired is closed
}

func newWaiters(changed func() <-chan struct{}) *waiters {
	return &waiters{changed: changed, hosts: map[string]*hostWaiters{}, missing: map[string]map[string]bool{}}
}

// join counts a sync of host id that may wait; leave uncounts it.
func (w *waiters) join(id string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	h := w.hosts[id]
	if h == nil {
		h = &hostWaiters{}
		w.hosts[id] = h
	}
	h.held++
}

func (w *waiters) leave(id string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if h := w.hosts[id]; h != nil {
		if h.held--; h.held <= 0 {
			delete(w.hosts, id)
		}
	}
}

// next returns the next change to host id's desired state. A joined sync
// takes it before it reads the desired state, so that no change between
// that read and its wait goes unnoticed.
func (w *waiters) next(id string) *wakeup {
	w.mu.Lock()
	defer w.mu.Unlock()
	h := w.hosts[id]
	if h == nil {
		panic("agentapi: next before join")
	}
	if h.next == nil {
		h.next = &wakeup{fired: make(chan struct{})}
	}
	return h.next
}

// wake fires host id's next change, if any sync waits for it.
func (w *waiters) wake(id string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.fire(id)
}

func (w *waiters) fire(id string) {
	h := w.hosts[id]
	if h == nil || h.next == nil {
		return
	}
	h.next.cached = w.changed()
	close(h.next.fired)
	h.next = nil
}

// wakeAll fires every waiting host's next change.
func (w *waiters) wakeAll() {
	w.mu.Lock()
	defer w.mu.Unlock()
	for id := range w.hosts {
		w.fire(id)
	}
}

// lacks notes that host id's desired state left out a task because the
// definition at key def was not in the cache.
func (w *waiters) lacks(def, id string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.missing[def] == nil {
		w.missing[def] = map[string]bool{}
	}
	w.missing[def][id] = true
}

// found wakes the hosts that lacked the definition at key def, now in the
// cache.
func (w *waiters) found(def string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for id := range w.missing[def] {
		w.fire(id)
	}
	delete(w.missing, def)
}

// taskView is what one task record contributes to its host's desired
// state as far as the digest an agent holds can tell: whether the host
// lists it (placed and not STOPPED) and with which desired status. Its
// definition matters too, since a task whose definition is missing is
// left out. The rest of what desired() hands out never changes for a task,
// as agentproto.Digest assumes.
type taskView struct {
	host, arn, desiredStatus, definition string
}

func viewOf(it *store.Item[store.TaskRecord]) taskView {
	if it == nil || it.Value.HostID == "" || !it.Value.Holds() {
		return taskView{}
	}
	t := &it.Value.Task
	return taskView{it.Value.HostID, t.TaskArn, t.DesiredStatus, t.TaskDefinitionArn}
}

// observe has the store report the changes that concern waiting syncs.
func (s *Server) observe() {
	s.store.Tasks.Observe(s.taskChanged)
	s.store.Instances.Observe(s.instanceChanged)
	s.store.Capacity.Observe(s.instanceChanged)
	s.store.TaskDefinitions.Observe(s.definitionChanged)
}

// taskChanged wakes the hosts whose desired state a task change may alter.
// A change only the agent could have reported (its observed status,
// containers, timestamps) wakes nobody.
func (s *Server) taskChanged(old, cur *store.Item[store.TaskRecord]) {
	was, now := viewOf(old), viewOf(cur)
	if was == now {
		return
	}
	if was.host != "" {
		s.waits.wake(was.host)
	}
	if now.host != "" && now.host != was.host {
		s.waits.wake(now.host)
	}
}

// instanceChanged wakes a host's waiting syncs when it was deregistered
// or removed, so that they answer with the error that says so.
func (s *Server) instanceChanged(old, cur *store.Item[store.InstanceRecord]) {
	switch {
	case cur == nil:
		s.waits.wake(old.Value.ID)
	case old != nil && old.Value.Instance.Status != cur.Value.Instance.Status:
		s.waits.wake(cur.Value.ID)
	}
}

// definitionChanged wakes the hosts that left out a task for want of a
// definition once it exists. Definitions are only ever removed from the
// cache when it reloads; every host may then list fewer tasks.
func (s *Server) definitionChanged(old, cur *store.Item[store.TaskDefinitionRecord]) {
	switch {
	case cur == nil:
		s.waits.wakeAll()
	case old == nil:
		s.waits.found(cur.Key)
	}
}
