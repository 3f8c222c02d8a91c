package ecs

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
)

// Partition is the ARN partition Gantry uses; the SDKs and CLIs accept it for
// any region string.
const Partition = "aws"

// ARNs builds the ARNs of one region and account.
type ARNs struct {
	Region, Account string
}

func (a ARNs) prefix() string { return "arn:" + Partition + ":ecs:" + a.Region + ":" + a.Account + ":" }

func (a ARNs) Cluster(name string) string { return a.prefix() + "cluster/" + name }

func (a ARNs) TaskDefinition(family string, revision int32) string {
	return a.prefix() + "task-definition/" + family + ":" + strconv.Itoa(int(revision))
}

func (a ARNs) Task(cluster, id string) string { return a.prefix() + "task/" + cluster + "/" + id }

func (a ARNs) ContainerInstance(cluster, id string) string {
	return a.prefix() + "container-instance/" + cluster + "/" + id
}

func (a ARNs) Service(cluster, name string) string {
	return a.prefix() + "service/" + cluster + "/" + name
}

// ServiceDeployment is the ARN of the deployment whose ID is deployment
// ("ecs-svc/<n>"); it ends in the ID's number.
func (a ARNs) ServiceDeployment(cluster, service, deployment string) string {
	return a.prefix() + "service-deployment/" + cluster + "/" + service + "/" + strings.TrimPrefix(deployment, "ecs-svc/")
}

// ServiceRevision is the ARN of what the deployment deployment runs.
func (a ARNs) ServiceRevision(cluster, service, deployment string) string {
	return a.prefix() + "service-revision/" + cluster + "/" + service + "/" + strings.TrimPrefix(deployment, "ecs-svc/")
}

func (a ARNs) Container(cluster, id string) string {
	return a.prefix() + "container/" + cluster + "/" + id
}

// ARN is a parsed ECS ARN: arn:partition:ecs:region:account:type/rest.
type ARN struct {
	Region, Account string
	Type            string // cluster, task-definition, task, service, container-instance …
	Resource        string // everything after "type/"
}

// ParseARN splits an ECS ARN. It reports false for anything that is not one.
func ParseARN(s string) (ARN, bool) {
	parts := strings.SplitN(s, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[1] == "" || parts[2] != "ecs" {
		return ARN{}, false
	}
	typ, res, ok := strings.Cut(parts[5], "/")
	if !ok || typ == "" || res == "" {
		return ARN{}, false
	}
	return ARN{Region: parts[3], Account: parts[4], Type: typ, Resource: res}, true
}

// ClusterName resolves a cluster reference (a name or a cluster ARN) to its
// name; an empty reference means the "default" cluster, as in ECS.
func ClusterName(ref string) (string, error) {
	if ref == "" {
		return "default", nil
	}
	if !strings.HasPrefix(ref, "arn:") {
		return ref, nil
	}
	a, ok := ParseARN(ref)
	if !ok || a.Type != "cluster" || strings.Contains(a.Resource, "/") {
		return "", fmt.Errorf("%q is not a valid cluster ARN", ref)
	}
	return a.Resource, nil
}

// NewDeploymentID returns a fresh service deployment ID in ECS's form,
// "ecs-svc/" and 19 digits.
func NewDeploymentID() string {
	var b [8]byte
	rand.Read(b[:])
	n := uint64(b[0])<<56 | uint64(b[1])<<48 | uint64(b[2])<<40 | uint64(b[3])<<32 |
		uint64(b[4])<<24 | uint64(b[5])<<16 | uint64(b[6])<<8 | uint64(b[7])
	return fmt.Sprintf("ecs-svc/%019d", 1_000_000_000_000_000_000+n%8_000_000_000_000_000_000)
}

// NewID returns a fresh 32-hex-character ID, the form ECS uses for tasks and
// container instances.
func NewID() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
