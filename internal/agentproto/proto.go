// Package agentproto is the wire contract between the control plane
// (agentapi) and the agent: JSON bodies over HTTP. It is level-triggered.
// The agent always sends everything it observes and the digest of the
// desired state it holds; the server always answers with the whole desired
// state for the instance when that digest is stale. A lost, repeated or
// reordered message is therefore harmless: the next sync repairs it.
//
// It imports only ecs and the standard library, so the agent never links a
// server package.
package agentproto

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"

	"github.com/gantry-dev/gantry/internal/ecs"
)

// HTTP paths.
const (
	// RegisterPath is signed with SigV4 (service "ecs") using the
	// operator's AWS credentials; it answers with an instance token.
	RegisterPath = "/agent/v1/register"
	// SyncPath carries "Authorization: Bearer <token>".
	SyncPath = "/agent/v1/sync"
)

// Capacity kinds an agent registers as.
const (
	// CapacityInstance is a container instance of one cluster, visible
	// through the container-instance actions (launch type EC2).
	CapacityInstance = ""
	// CapacityFargate is capacity the control plane manages for FARGATE
	// tasks of every cluster; it never shows as a container instance.
	CapacityFargate = "FARGATE"
)

// RegisterRequest registers a host, or resumes an earlier registration
// when ContainerInstanceArn names one that is still registered.
type RegisterRequest struct {
	Cluster              string          `json:"cluster"`
	Capacity             string          `json:"capacity,omitempty"`
	ContainerInstanceArn string          `json:"containerInstanceArn,omitempty"`
	TotalResources       []ecs.Resource  `json:"totalResources"`
	VersionInfo          ecs.VersionInfo `json:"versionInfo"`
	Attributes           []ecs.Attribute `json:"attributes,omitempty"`
	Tags                 []ecs.Tag       `json:"tags,omitempty"`
}

// RegisterResponse names the instance and the token that lets the agent act
// for it, and for nothing else.
type RegisterResponse struct {
	ContainerInstanceArn string `json:"containerInstanceArn"`
	ClusterArn           string `json:"clusterArn"`
	Token                string `json:"token"`
}

// SyncRequest reports what the agent observes and asks for the desired
// state. With Wait, the server holds the request until the desired state
// differs from Digest or its poll limit passes.
type SyncRequest struct {
	Digest string      `json:"digest,omitempty"`
	Wait   bool        `json:"wait,omitempty"`
	Tasks  []TaskState `json:"tasks"`
	// Revision is that of the last answer the agent applied; tasks it
	// already holds from it come back as Known, without their contents.
	Revision int64 `json:"revision,omitempty"`
}

// SyncResponse is the desired state: every task the instance should run or
// stop. Tasks is nil when Digest matches the request's.
type SyncResponse struct {
	Digest  string `json:"digest"`
	Changed bool   `json:"changed"`
	Tasks   []Task `json:"tasks,omitempty"`
	// Revision orders answers: an agent's syncs overlap (a held poll and a
	// report), so an older answer can arrive after a newer one, and must
	// not undo it. Of two answers the higher revision is the newer.
	Revision int64 `json:"revision,omitempty"`
	// Definitions holds each task definition the tasks use once; a task
	// names its own by TaskDefinitionArn. Many tasks of one definition on
	// a host would otherwise carry it many times over.
	Definitions []ecs.TaskDefinition `json:"taskDefinitions,omitempty"`
	// PollSeconds is how long the server may hold a waiting sync; the agent
	// treats a silence much longer than that as a lost connection.
	PollSeconds int `json:"pollSeconds"`
}

// Task is one task the instance must run (DesiredStatus RUNNING) or stop
// (STOPPED). Everything but DesiredStatus is fixed when the task is
// created.
type Task struct {
	TaskArn       string         `json:"taskArn"`
	ClusterArn    string         `json:"clusterArn"`
	DesiredStatus string         `json:"desiredStatus"`
	LaunchType    ecs.LaunchType `json:"launchType,omitempty"`
	// Definition travels in SyncResponse.Definitions, named here by
	// TaskDefinitionArn; Pack and Unpack move it there and back.
	Definition        ecs.TaskDefinition `json:"taskDefinition,omitzero"`
	TaskDefinitionArn string             `json:"taskDefinitionArn,omitempty"`
	// Known marks a task the agent already holds from an earlier answer:
	// only TaskArn and DesiredStatus are given, since nothing else of a
	// task ever changes. Without it a host with n tasks would be sent all
	// n again for each new one.
	Known     bool                      `json:"known,omitempty"`
	Overrides ecs.TaskOverride          `json:"overrides"`
	Network   *ecs.NetworkConfiguration `json:"networkConfiguration,omitempty"`
	// StopTimeoutSeconds applies to containers without their own
	// stopTimeout.
	StopTimeoutSeconds int `json:"stopTimeoutSeconds,omitempty"`
}

// TaskState is what the agent observes of one task. Containers carry only
// observed fields (name, runtimeId, lastStatus, exitCode, reason,
// networkBindings, networkInterfaces, healthStatus, imageDigest); the server
// adds the rest.
type TaskState struct {
	TaskArn       string           `json:"taskArn"`
	LastStatus    string           `json:"lastStatus"`
	HealthStatus  ecs.HealthStatus `json:"healthStatus,omitempty"`
	StopCode      ecs.TaskStopCode `json:"stopCode,omitempty"`
	StoppedReason string           `json:"stoppedReason,omitempty"`
	// PrivateIPv4Address is the task's address in awsvpc mode.
	PrivateIPv4Address string          `json:"privateIPv4Address,omitempty"`
	Containers         []ecs.Container `json:"containers,omitempty"`

	PullStartedAt      ecs.Timestamp `json:"pullStartedAt,omitzero"`
	PullStoppedAt      ecs.Timestamp `json:"pullStoppedAt,omitzero"`
	StartedAt          ecs.Timestamp `json:"startedAt,omitzero"`
	StoppingAt         ecs.Timestamp `json:"stoppingAt,omitzero"`
	ExecutionStoppedAt ecs.Timestamp `json:"executionStoppedAt,omitzero"`
	StoppedAt          ecs.Timestamp `json:"stoppedAt,omitzero"`
}

// Error is the body of every non-2xx answer.
type Error struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Error codes. The HTTP status tells the agent what to do: 401 register
// again, 410 stop (the instance was deregistered), 4xx fix the request,
// 5xx retry.
const (
	CodeUnauthorized = "Unauthorized"
	CodeDeregistered = "InstanceDeregistered"
	CodeBadRequest   = "BadRequest"
	CodeNotFound     = "ClusterNotFound"
	CodeInternal     = "Internal"
)

// Digest identifies a desired state: the set of tasks and their desired
// statuses (the rest of a task never changes).
func Digest(tasks []Task) string {
	keys := make([]string, len(tasks))
	for i, t := range tasks {
		keys[i] = t.TaskArn + "=" + t.DesiredStatus
	}
	slices.Sort(keys)
	sum := sha256.Sum256([]byte(strings.Join(keys, "\n")))
	return hex.EncodeToString(sum[:12])
}

// Pack moves the tasks' definitions into Definitions, each once.
func (r *SyncResponse) Pack() {
	seen := map[string]bool{}
	for i := range r.Tasks {
		t := &r.Tasks[i]
		if t.Known {
			continue
		}
		arn := t.Definition.TaskDefinitionArn
		if !seen[arn] {
			seen[arn] = true
			r.Definitions = append(r.Definitions, t.Definition)
		}
		t.TaskDefinitionArn, t.Definition = arn, ecs.TaskDefinition{}
	}
}

// Unpack gives every task its definition back from Definitions.
func (r *SyncResponse) Unpack() error {
	byARN := make(map[string]*ecs.TaskDefinition, len(r.Definitions))
	for i := range r.Definitions {
		byARN[r.Definitions[i].TaskDefinitionArn] = &r.Definitions[i]
	}
	for i := range r.Tasks {
		t := &r.Tasks[i]
		if t.Known || t.TaskDefinitionArn == "" {
			continue // held already, or carried inline
		}
		td, ok := byARN[t.TaskDefinitionArn]
		if !ok {
			return fmt.Errorf("task %s names task definition %s, which the answer does not carry", t.TaskArn, t.TaskDefinitionArn)
		}
		t.Definition = *td
	}
	r.Definitions = nil
	return nil
}
