package agentapi

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"time"

	"github.com/gantry-dev/gantry/internal/agentproto"
	"github.com/gantry-dev/gantry/internal/ecs"
	"github.com/gantry-dev/gantry/internal/store"
)

// Attachment of an awsvpc task's network interface, as ECS shows it.
const (
	attachmentENI      = "ElasticNetworkInterface"
	attachmentAttached = "ATTACHED"
	attachmentDeleted  = "DELETED"
)

// merge applies an observation to a task record and reports whether
// anything changed. Statuses only move forward, timestamps are set once,
// and a stop decided by a user or the scheduler keeps its code and reason.
func merge(rec *store.TaskRecord, obs agentproto.TaskState, now time.Time) bool {
	before := draft(rec).Task
	t := &rec.Task
	if ecs.TaskStatusRank(obs.LastStatus) > ecs.TaskStatusRank(t.LastStatus) {
		t.LastStatus = obs.LastStatus
	}
	mergeHealth(&t.HealthStatus, obs.HealthStatus)
	setOnce(&t.PullStartedAt, obs.PullStartedAt)
	setOnce(&t.PullStoppedAt, obs.PullStoppedAt)
	setOnce(&t.StartedAt, obs.StartedAt)
	setOnce(&t.StoppingAt, obs.StoppingAt)
	setOnce(&t.ExecutionStoppedAt, obs.ExecutionStoppedAt)
	setOnce(&t.StoppedAt, obs.StoppedAt)
	if t.StopCode == "" && obs.StopCode != "" {
		t.StopCode, t.StoppedReason = obs.StopCode, obs.StoppedReason
	}
	if ecs.TaskStatusRank(t.LastStatus) >= ecs.TaskStatusRank(ecs.TaskDeactivating) {
		// The task is stopping on its own (an essential container exited,
		// it failed to start): ECS then wants it stopped too.
		t.DesiredStatus = ecs.TaskStopped
		setOnce(&t.StoppingAt, ecs.At(now))
	}
	if t.LastStatus == ecs.TaskStopped {
		setOnce(&t.StoppedAt, ecs.At(now))
		setOnce(&t.ExecutionStoppedAt, t.StoppedAt)
	}
	if t.Connectivity == "" {
		t.Connectivity, t.ConnectivityAt = ecs.ConnectivityCONNECTED, ecs.At(now)
	}
	mergeContainers(t, obs.Containers)
	mergeAttachment(t, obs.PrivateIPv4Address)
	// Equal values have equal JSON, which is all a record is.
	if reflect.DeepEqual(before, *t) {
		return false
	}
	t.Version++
	return true
}

// draft is a copy of a record that merge may change while the original
// stays as it was: merge assigns fields of the task and of the elements of
// its containers and attachments, and writes through nothing else the two
// share.
func draft(rec *store.TaskRecord) *store.TaskRecord {
	d := *rec
	d.Task.Containers = slices.Clone(rec.Task.Containers)
	d.Task.Attachments = slices.Clone(rec.Task.Attachments)
	return &d
}

func setOnce(dst *ecs.Timestamp, v ecs.Timestamp) {
	if dst.IsZero() && !v.IsZero() {
		*dst = v
	}
}

var containerRank = []string{ecs.TaskPending, ecs.TaskRunning, ecs.TaskStopped}

func mergeContainers(t *ecs.Task, observed []ecs.Container) {
	for _, o := range observed {
		i := slices.IndexFunc(t.Containers, func(c ecs.Container) bool { return c.Name == o.Name })
		if i < 0 {
			continue
		}
		c := &t.Containers[i]
		if slices.Index(containerRank, o.LastStatus) > slices.Index(containerRank, c.LastStatus) {
			c.LastStatus = o.LastStatus
		}
		if o.RuntimeId != "" {
			c.RuntimeId = o.RuntimeId
		}
		if o.ExitCode != nil {
			c.ExitCode = o.ExitCode
		}
		if o.Reason != "" {
			c.Reason = o.Reason
		}
		if o.ImageDigest != "" {
			c.ImageDigest = o.ImageDigest
		}
		mergeHealth(&c.HealthStatus, o.HealthStatus)
		if len(o.NetworkBindings) > 0 || c.LastStatus == ecs.TaskStopped {
			c.NetworkBindings = o.NetworkBindings
		}
		if len(o.NetworkInterfaces) > 0 {
			c.NetworkInterfaces = o.NetworkInterfaces
		}
		if t.LastStatus == ecs.TaskStopped && c.LastStatus != ecs.TaskStopped {
			c.LastStatus = ecs.TaskStopped
		}
	}
}

// mergeAttachment records the task's private address on its network
// interface attachment, and marks the attachment deleted once the task
// stopped.
func mergeAttachment(t *ecs.Task, ip string) {
	i := slices.IndexFunc(t.Attachments, func(a ecs.Attachment) bool { return a.Type == attachmentENI })
	if i < 0 {
		return
	}
	a := &t.Attachments[i]
	if ip != "" && !slices.ContainsFunc(a.Details, func(kv ecs.KeyValuePair) bool { return kv.Name == "privateIPv4Address" }) {
		a.Details = append(slices.Clip(a.Details), ecs.KeyValuePair{Name: "privateIPv4Address", Value: ip})
		a.Status = attachmentAttached
		for ci := range t.Containers {
			if len(t.Containers[ci].NetworkInterfaces) == 0 {
				t.Containers[ci].NetworkInterfaces = []ecs.NetworkInterface{{AttachmentId: a.Id, PrivateIpv4Address: ip}}
			}
		}
	}
	if t.LastStatus == ecs.TaskStopped {
		a.Status = attachmentDeleted
	}
}

// maxTxnOps is how many records record writes in one transaction, well
// under etcd's default limit of 128 operations.
const maxTxnOps = 64

// observed is what one sync reports of one task, merged into a draft of
// the task's record.
type observed struct {
	key     string
	modRev  int64
	draft   *store.TaskRecord
	reports []agentproto.TaskState
	changed bool // the draft differs from the record
}

// errUnchanged ends an update that has nothing to write.
var errUnchanged = errors.New("unchanged")

// record merges what an agent observes into the records of its tasks.
// Observations of tasks placed elsewhere, unknown or already STOPPED
// change nothing, and a record that already says what the agent observes
// is not written.
func (s *Server) record(ctx context.Context, hostID string, reports []agentproto.TaskState) error {
	now := s.opts.Now()
	var changed []*observed
	byKey := make(map[string]*observed, len(reports))
	for _, obs := range reports {
		key, ok := taskKey(obs.TaskArn)
		if !ok {
			continue
		}
		o := byKey[key]
		if o == nil {
			it, ok := s.store.Tasks.Get(key)
			if !ok || it.Value.HostID != hostID || !it.Value.Holds() {
				continue
			}
			o = &observed{key: key, modRev: it.ModRevision, draft: draft(it.Value)}
			byKey[key] = o
		}
		o.reports = append(o.reports, obs)
		if merge(o.draft, obs, now) && !o.changed {
			o.changed = true
			changed = append(changed, o)
		}
	}
	return s.write(ctx, hostID, changed, now)
}

// write stores the drafts, a few to a transaction. When a transaction
// fails because a record changed since its draft was made, each of its
// records is read again and merged on its own.
func (s *Server) write(ctx context.Context, hostID string, changed []*observed, now time.Time) error {
	for chunk := range slices.Chunk(changed, maxTxnOps) {
		writes := make([]store.Write, len(chunk))
		for i, o := range chunk {
			writes[i] = s.store.Tasks.Replace(o.key, o.draft, o.modRev)
		}
		_, err := s.store.Commit(ctx, writes...)
		if errors.Is(err, store.ErrConflict) {
			err = s.recordEach(ctx, hostID, chunk, now)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// recordEach merges each task's observations into its current record.
func (s *Server) recordEach(ctx context.Context, hostID string, tasks []*observed, now time.Time) error {
	for _, o := range tasks {
		_, err := s.store.Tasks.Update(ctx, o.key, func(rec *store.TaskRecord) error {
			changed := false
			if rec.HostID == hostID {
				for _, obs := range o.reports {
					changed = merge(rec, obs, now) || changed
				}
			}
			if !changed {
				return errUnchanged
			}
			return nil
		})
		if err != nil && !errors.Is(err, errUnchanged) && !errors.Is(err, store.ErrNotFound) {
			return err
		}
	}
	return nil
}

// mergeHealth takes an observed health status, except that a verdict
// (HEALTHY or UNHEALTHY) never goes back to UNKNOWN: a health check does
// not, so such a report is an older one that arrived late, and taking it
// would hold a service's rollout back until the next change.
func mergeHealth(cur *ecs.HealthStatus, obs ecs.HealthStatus) {
	if obs == "" || obs == ecs.HealthStatusUNKNOWN && *cur != "" && *cur != ecs.HealthStatusUNKNOWN {
		return
	}
	*cur = obs
}
