package agentapi

import (
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
	before, _ := store.Clone(rec)
	t := &rec.Task
	if ecs.TaskStatusRank(obs.LastStatus) > ecs.TaskStatusRank(t.LastStatus) {
		t.LastStatus = obs.LastStatus
	}
	if obs.HealthStatus != "" {
		t.HealthStatus = obs.HealthStatus
	}
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
	if equalJSON(before, rec) {
		return false
	}
	t.Version++
	return true
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
		if o.HealthStatus != "" {
			c.HealthStatus = o.HealthStatus
		}
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
		a.Details = append(a.Details, ecs.KeyValuePair{Name: "privateIPv4Address", Value: ip})
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
