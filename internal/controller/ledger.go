package controller

import (
	"cmp"
	"slices"
	"strings"

	"github.com/gantry-dev/gantry/internal/ecs"
	"github.com/gantry-dev/gantry/internal/placement"
	"github.com/gantry-dev/gantry/internal/store"
)

// ledger is the scheduler's picture of every host: what it registered and
// what its tasks hold. The store's watch feeds it; the scheduler adds its
// own placements the moment it makes them, before they commit, so two
// batches never count the same free resources. Everything is keyed so
// that hearing the same fact twice changes nothing. The scheduler's mutex
// guards it.
type ledger struct {
	hosts  map[string]*hostEntry // by host ID
	holds  map[string]taskHold   // by task key
	byHost map[string]map[string]bool
	// clusters lists each cluster's ACTIVE container instances, and
	// fargate the Fargate capacity, in key order; rebuilt when stale.
	clusters map[string][]*hostEntry
	fargate  []*hostEntry
	stale    bool
}

// hostEntry is one host in the ledger.
type hostEntry struct {
	host     *placement.Host
	key      string // its key in Instances or Capacity
	capacity bool   // Fargate capacity rather than a container instance
	record   *store.InstanceRecord
	modRev   int64
}

// taskHold is what a task holds on its host while it is not STOPPED.
type taskHold struct {
	hostID string
	hold   placement.Holding
}

func (a taskHold) equal(b taskHold) bool {
	return a.hostID == b.hostID && a.hold.CPU == b.hold.CPU && a.hold.Memory == b.hold.Memory &&
		a.hold.Group == b.hold.Group && a.hold.Running == b.hold.Running && slices.Equal(a.hold.Ports, b.hold.Ports)
}

func newLedger() *ledger {
	return &ledger{
		hosts:    map[string]*hostEntry{},
		holds:    map[string]taskHold{},
		byHost:   map[string]map[string]bool{},
		clusters: map[string][]*hostEntry{},
	}
}

// putHost records a host as its latest record describes it, keeping what
// its tasks hold.
func (l *ledger) putHost(it *store.Item[store.InstanceRecord], capacity bool) {
	r := it.Value
	e, ok := l.hosts[r.ID]
	if !ok {
		e = &hostEntry{host: &placement.Host{ID: r.ID}, key: it.Key, capacity: capacity}
		l.hosts[r.ID] = e
		for key := range l.byHost[r.ID] {
			e.host.Take(l.holds[key].hold)
		}
	}
	if !ok || e.record.Instance.Status != r.Instance.Status {
		l.stale = true
	}
	e.record, e.modRev = r, it.ModRevision
	e.host.Describe(&r.Instance)
}

func (l *ledger) deleteHost(id string) {
	if _, ok := l.hosts[id]; ok {
		delete(l.hosts, id)
		l.stale = true
	}
}

// putTask records what a task holds now: nothing once it is STOPPED or
// gone (rec nil).
func (l *ledger) putTask(key string, rec *store.TaskRecord) {
	old, had := l.holds[key]
	var cur taskHold
	holds := rec != nil && rec.Holds()
	if holds {
		cur = holdOf(rec)
		if had && old.equal(cur) {
			return
		}
	}
	if had {
		l.release(key, old)
	}
	if holds {
		l.take(key, cur)
	}
}

func holdOf(rec *store.TaskRecord) taskHold {
	return taskHold{hostID: rec.HostID, hold: placement.Holding{
		CPU: rec.Size.CPU, Memory: rec.Size.Memory, Ports: rec.Ports,
		Group: rec.Task.Group, Running: rec.Task.DesiredStatus == ecs.TaskRunning,
	}}
}

func (l *ledger) take(key string, t taskHold) {
	l.holds[key] = t
	if l.byHost[t.hostID] == nil {
		l.byHost[t.hostID] = map[string]bool{}
	}
	l.byHost[t.hostID][key] = true
	if e, ok := l.hosts[t.hostID]; ok {
		e.host.Take(t.hold)
	}
}

func (l *ledger) release(key string, t taskHold) {
	delete(l.holds, key)
	if set := l.byHost[t.hostID]; set != nil {
		delete(set, key)
		if len(set) == 0 {
			delete(l.byHost, t.hostID)
		}
	}
	if e, ok := l.hosts[t.hostID]; ok {
		e.host.Release(t.hold)
	}
}

// candidates are the hosts a cluster's EC2 tasks may go to (its ACTIVE
// container instances), or the Fargate capacity, in key order.
func (l *ledger) candidates(cluster string, fargate bool) []*hostEntry {
	if l.stale {
		l.rebuild()
	}
	if fargate {
		return l.fargate
	}
	return l.clusters[cluster]
}

func (l *ledger) rebuild() {
	clear(l.clusters)
	l.fargate = l.fargate[:0]
	for _, e := range l.hosts {
		switch {
		case e.capacity:
			l.fargate = append(l.fargate, e)
		case e.record.Instance.Status == "ACTIVE":
			l.clusters[e.record.Cluster] = append(l.clusters[e.record.Cluster], e)
		}
	}
	byKey := func(a, b *hostEntry) int { return cmp.Compare(a.key, b.key) }
	for _, hs := range l.clusters {
		slices.SortFunc(hs, byKey)
	}
	slices.SortFunc(l.fargate, byKey)
	l.stale = false
}

// registered counts a cluster's instances that are not deregistered.
func (l *ledger) registered(cluster string) int {
	n := 0
	for _, e := range l.hosts {
		if !e.capacity && e.record.Cluster == cluster && e.record.Instance.Status != "INACTIVE" {
			n++
		}
	}
	return n
}

// taskKey is a task's key in the Tasks table.
func taskKey(cluster, taskARN string) string {
	return cluster + "/" + taskARN[strings.LastIndexByte(taskARN, '/')+1:]
}
