package api

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"

	"github.com/gantry-dev/gantry/internal/ecs"
	"github.com/gantry-dev/gantry/internal/placement"
	"github.com/gantry-dev/gantry/internal/store"
)

// statusDraining is the container instance status that keeps new tasks off
// an instance; ACTIVE and INACTIVE are shared with clusters.
const statusDraining = "DRAINING"

// Resource names a container instance registers, as ECS names them.
const (
	resourceCPU      = "CPU"
	resourceMemory   = "MEMORY"
	resourcePorts    = "PORTS"
	resourcePortsUDP = "PORTS_UDP"
)

// hostUsage is what the tasks placed on one host hold. Only tasks that
// still hold their host (not yet STOPPED) count. It is computed from the
// task cache on every read, never stored, so it cannot drift.
type hostUsage struct {
	CPU, Memory int      // CPU units and MiB reserved
	Ports       []string // host ports reserved, "80/tcp", sorted, each once
	// Running counts tasks whose desiredStatus is RUNNING and Pending
	// tasks whose lastStatus is PENDING: ECS's definitions of a container
	// instance's runningTasksCount and pendingTasksCount.
	Running, Pending int32
	// Groups counts tasks per task group whose desiredStatus is RUNNING,
	// what the query language's task:group reads.
	Groups map[string]int
}

// hostUsage sums the tasks placed on the instance or Fargate capacity id.
// Placement calls it too, so both see the same numbers.
func (a *API) hostUsage(id string) hostUsage {
	var u hostUsage
	for _, it := range a.store.Tasks.By(store.ByHost, id) {
		r := it.Value
		if !r.Holds() {
			continue
		}
		u.CPU += r.Size.CPU
		u.Memory += r.Size.Memory
		u.Ports = append(u.Ports, r.Ports...)
		if r.Task.DesiredStatus == ecs.TaskRunning {
			u.Running++
			if u.Groups == nil {
				u.Groups = map[string]int{}
			}
			u.Groups[r.Task.Group]++
		}
		if r.Task.LastStatus == ecs.TaskPending {
			u.Pending++
		}
	}
	slices.Sort(u.Ports)
	u.Ports = slices.Compact(u.Ports)
	return u
}

// reduceResource lowers a numeric resource by n in the field its type uses.
func reduceResource(r *ecs.Resource, n int) {
	switch r.Type {
	case "LONG":
		r.LongValue -= int64(n)
	case "DOUBLE":
		r.DoubleValue -= float64(n)
	default:
		r.IntegerValue -= int32(n)
	}
}

// remainingResources is the registered resources less what u holds: CPU
// and MEMORY shrink by the reservations; PORTS and PORTS_UDP, the ports
// that are not free, gain the host ports tasks hold. Other resources are
// reported as registered.
func remainingResources(registered []ecs.Resource, u hostUsage) []ecs.Resource {
	tcp, udp := portsByProtocol(u.Ports)
	out := make([]ecs.Resource, 0, len(registered)+2)
	seen := map[string]bool{}
	for _, r := range registered {
		seen[r.Name] = true
		switch r.Name {
		case resourceCPU:
			reduceResource(&r, u.CPU)
		case resourceMemory:
			reduceResource(&r, u.Memory)
		case resourcePorts:
			r.StringSetValue = unionPorts(r.StringSetValue, tcp)
		case resourcePortsUDP:
			r.StringSetValue = unionPorts(r.StringSetValue, udp)
		}
		out = append(out, r)
	}
	// A host that registered no port list still has its tasks' ports taken.
	if !seen[resourcePorts] && len(tcp) > 0 {
		out = append(out, ecs.Resource{Name: resourcePorts, Type: "STRINGSET", StringSetValue: tcp})
	}
	if !seen[resourcePortsUDP] && len(udp) > 0 {
		out = append(out, ecs.Resource{Name: resourcePortsUDP, Type: "STRINGSET", StringSetValue: udp})
	}
	return out
}

// portsByProtocol splits "80/tcp" style ports into bare numbers per
// protocol, in numeric order.
func portsByProtocol(ports []string) (tcp, udp []string) {
	for _, p := range ports {
		num, proto, _ := strings.Cut(p, "/")
		if proto == "udp" {
			udp = append(udp, num)
		} else {
			tcp = append(tcp, num)
		}
	}
	byNumber := func(a, b string) int {
		x, _ := strconv.Atoi(a)
		y, _ := strconv.Atoi(b)
		return x - y
	}
	slices.SortFunc(tcp, byNumber)
	slices.SortFunc(udp, byNumber)
	return tcp, udp
}

// unionPorts appends to the registered ports those in add not already
// there, keeping the registered ones first, as ECS lists them.
func unionPorts(registered, add []string) []string {
	out := slices.Clone(registered)
	for _, p := range add {
		if !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	return out
}

// instanceFields are the optional parts of a container instance a
// Describe includes.
type instanceFields struct{ tags, health bool }

// writeInstanceFields is what the write actions answer with: the instance
// as stored, tags included, as their cluster counterparts do.
var writeInstanceFields = instanceFields{tags: true}

// instanceView is a container instance as a response shows it: live
// counts and remaining resources, and only the optional parts asked for.
func (a *API) instanceView(rec *store.InstanceRecord, f instanceFields) ecs.ContainerInstance {
	v := rec.Instance
	v.ContainerInstanceArn = a.instanceARN(rec)
	u := a.hostUsage(rec.ID)
	v.RemainingResources = remainingResources(rec.Instance.RegisteredResources, u)
	v.RunningTasksCount, v.PendingTasksCount = u.Running, u.Pending
	v.Attributes = nonNil(v.Attributes)
	v.Tags = nil
	if f.tags {
		v.Tags = nonNil(rec.Instance.Tags)
	}
	v.HealthStatus = nil
	if f.health {
		v.HealthStatus = rec.Instance.HealthStatus
		if v.HealthStatus == nil { // the agent has not reported any check yet
			v.HealthStatus = &ecs.ContainerInstanceHealthStatus{OverallStatus: ecs.InstanceHealthCheckStateINSUFFICIENTDATA}
		}
	}
	return v
}

// instanceARN is the instance's ARN, as registered.
func (a *API) instanceARN(rec *store.InstanceRecord) string {
	if rec.Instance.ContainerInstanceArn != "" {
		return rec.Instance.ContainerInstanceArn
	}
	return a.arns.ContainerInstance(rec.Cluster, rec.ID)
}

// instanceRef resolves a container instance reference within a cluster: an
// ID, or a container-instance ARN in the long (cluster/id) or short (id)
// form. It returns the store key and the ARN a failure names; ok is false
// when the reference cannot name an instance of this cluster.
func (a *API) instanceRef(cluster, ref string) (key, arn string, ok bool) {
	id := ref
	arn = a.arns.ContainerInstance(cluster, ref)
	if strings.HasPrefix(ref, "arn:") {
		arn = ref
		p, valid := ecs.ParseARN(ref)
		if !valid || p.Type != "container-instance" {
			return "", arn, false
		}
		id = p.Resource
		if c, rest, long := strings.Cut(p.Resource, "/"); long {
			if c != cluster {
				return "", arn, false
			}
			id = rest
		}
	}
	if id == "" || strings.Contains(id, "/") {
		return "", arn, false
	}
	return cluster + "/" + id, arn, true
}

func instanceNotFound(ref string) error {
	return invalidParameter("The container instance %q was not found in this cluster.", ref)
}

// DescribeContainerInstances describes instances by ID or ARN; unknown
// ones come back as failures, not errors. Deregistered (INACTIVE)
// instances remain describable.
func (a *API) DescribeContainerInstances(ctx context.Context, req *ecs.DescribeContainerInstancesRequest) (*ecs.DescribeContainerInstancesResponse, error) {
	if n := len(req.ContainerInstances); n == 0 || n > 100 {
		return nil, invalidParameter("containerInstances must name 1 to 100 container instances, got %d.", n)
	}
	var f instanceFields
	for i, inc := range req.Include {
		switch inc {
		case ecs.ContainerInstanceFieldTAGS:
			f.tags = true
		case ecs.ContainerInstanceFieldCONTAINERINSTANCEHEALTH:
			f.health = true
		default:
			return nil, invalidParameter("include[%d] %q is not valid; use one of %v.", i, inc, ecs.ContainerInstanceField("").Values())
		}
	}
	cl, err := a.activeCluster(req.Cluster)
	if err != nil {
		return nil, err
	}
	cluster := cl.Value.Cluster.ClusterName
	out := &ecs.DescribeContainerInstancesResponse{ContainerInstances: []ecs.ContainerInstance{}, Failures: []ecs.Failure{}}
	for _, ref := range req.ContainerInstances {
		key, arn, ok := a.instanceRef(cluster, ref)
		var item *store.Item[store.InstanceRecord]
		if ok {
			item, ok = a.store.Instances.Get(key)
		}
		if !ok {
			out.Failures = append(out.Failures, ecs.Failure{Arn: arn, Reason: "MISSING"})
			continue
		}
		out.ContainerInstances = append(out.ContainerInstances, a.instanceView(item.Value, f))
	}
	return out, nil
}

// ListContainerInstances lists a cluster's instances in ID order. Without
// a status it lists every instance that is not INACTIVE, as ECS does.
func (a *API) ListContainerInstances(ctx context.Context, req *ecs.ListContainerInstancesRequest) (*ecs.ListContainerInstancesResponse, error) {
	p, err := parsePage("containerInstances", req.MaxResults, req.NextToken, defaultPageSize)
	if err != nil {
		return nil, err
	}
	if req.Status != "" && !validEnum(req.Status) {
		return nil, invalidParameter("status %q is not valid; use one of %v.", req.Status, req.Status.Values())
	}
	var filter *placement.Expression
	if strings.TrimSpace(req.Filter) != "" {
		if filter, err = placement.ParseExpression(req.Filter); err != nil {
			return nil, invalidParameter("filter: %v.", err)
		}
	}
	cl, err := a.activeCluster(req.Cluster)
	if err != nil {
		return nil, err
	}
	prefix := cl.Value.Cluster.ClusterName + "/"
	from := p.after
	switch {
	case from == "":
		from = prefix
	case !strings.HasPrefix(from, prefix): // a token from another cluster's list
		return nil, invalidParameter("Invalid nextToken.")
	}
	c := collector{page: p}
	a.store.Instances.Ascend(from, func(it *store.Item[store.InstanceRecord]) bool {
		if !strings.HasPrefix(it.Key, prefix) {
			return false // past this cluster's instances
		}
		st := it.Value.Instance.Status
		if (req.Status == "" && st == statusInactive) || (req.Status != "" && st != string(req.Status)) {
			return true
		}
		if filter != nil && !filter.Match(a.queryHost(it.Value)) {
			return true
		}
		return c.add(it.Key, a.instanceARN(it.Value))
	})
	return &ecs.ListContainerInstancesResponse{ContainerInstanceArns: nonNil(c.out), NextToken: c.next}, nil
}

// queryHost is an instance as the cluster query language sees it.
func (a *API) queryHost(r *store.InstanceRecord) *placement.Host {
	h := &placement.Host{ID: r.ID}
	h.Describe(&r.Instance)
	u := a.hostUsage(r.ID)
	h.RunningTasks, h.Groups = int(u.Running), u.Groups
	return h
}

// errUnchanged ends an update that has nothing to write.
var errUnchanged = errors.New("unchanged")

// DeregisterContainerInstance marks an instance INACTIVE and disconnects
// its agent. The record stays, so the instance remains describable; tasks
// on it are left alone. Without force, an instance with tasks that should
// be running is refused, as in ECS.
func (a *API) DeregisterContainerInstance(ctx context.Context, req *ecs.DeregisterContainerInstanceRequest) (*ecs.DeregisterContainerInstanceResponse, error) {
	if req.ContainerInstance == "" {
		return nil, invalidParameter("containerInstance is required.")
	}
	cl, err := a.activeCluster(req.Cluster)
	if err != nil {
		return nil, err
	}
	key, _, ok := a.instanceRef(cl.Value.Cluster.ClusterName, req.ContainerInstance)
	if !ok {
		return nil, instanceNotFound(req.ContainerInstance)
	}
	force := req.Force != nil && *req.Force
	var current *store.InstanceRecord
	rec, err := a.store.Instances.Update(ctx, key, func(r *store.InstanceRecord) error {
		current = r
		if r.Instance.Status == statusInactive {
			return errUnchanged // deregistering twice succeeds
		}
		if !force && a.hostUsage(r.ID).Running > 0 {
			return invalidParameter("Found running tasks on the instance.")
		}
		r.Instance.Status = statusInactive
		r.Instance.AgentConnected = false
		r.Instance.Version++
		return nil
	})
	switch {
	case err == errUnchanged:
		rec = current
	case err == store.ErrNotFound:
		return nil, instanceNotFound(req.ContainerInstance)
	case err != nil:
		return nil, wireError(err)
	}
	v := a.instanceView(rec, writeInstanceFields)
	return &ecs.DeregisterContainerInstanceResponse{ContainerInstance: &v}, nil
}

// UpdateContainerInstancesState moves instances between ACTIVE and
// DRAINING. A DRAINING instance gets no new tasks: placement takes only
// ACTIVE instances. Instances that cannot change are failures, not errors.
func (a *API) UpdateContainerInstancesState(ctx context.Context, req *ecs.UpdateContainerInstancesStateRequest) (*ecs.UpdateContainerInstancesStateResponse, error) {
	want := string(req.Status)
	if want != statusActive && want != statusDraining {
		return nil, invalidParameter("Container instance status should be one of [ACTIVE, DRAINING]")
	}
	if n := len(req.ContainerInstances); n == 0 || n > 10 {
		return nil, invalidParameter("containerInstances must name 1 to 10 container instances, got %d.", n)
	}
	cl, err := a.activeCluster(req.Cluster)
	if err != nil {
		return nil, err
	}
	cluster := cl.Value.Cluster.ClusterName
	out := &ecs.UpdateContainerInstancesStateResponse{ContainerInstances: []ecs.ContainerInstance{}, Failures: []ecs.Failure{}}
	for _, ref := range req.ContainerInstances {
		rec, failure, err := a.setInstanceStatus(ctx, cluster, ref, want)
		switch {
		case err != nil:
			return nil, err
		case failure != nil:
			out.Failures = append(out.Failures, *failure)
		default:
			out.ContainerInstances = append(out.ContainerInstances, a.instanceView(rec, writeInstanceFields))
		}
	}
	return out, nil
}

// errNotChangeable refuses a state change for an instance that is neither
// ACTIVE nor DRAINING.
var errNotChangeable = errors.New("instance status cannot change")

// setInstanceStatus sets one instance's status to ACTIVE or DRAINING.
func (a *API) setInstanceStatus(ctx context.Context, cluster, ref, want string) (*store.InstanceRecord, *ecs.Failure, error) {
	key, arn, ok := a.instanceRef(cluster, ref)
	if !ok {
		return nil, &ecs.Failure{Arn: arn, Reason: "MISSING"}, nil
	}
	var current *store.InstanceRecord
	rec, err := a.store.Instances.Update(ctx, key, func(r *store.InstanceRecord) error {
		current = r
		switch r.Instance.Status {
		case want:
			return errUnchanged
		case statusActive, statusDraining:
		default:
			return errNotChangeable
		}
		r.Instance.Status = want
		r.Instance.Version++
		return nil
	})
	switch {
	case err == errUnchanged:
		return current, nil, nil
	case err == errNotChangeable:
		return nil, &ecs.Failure{
			Arn:    a.instanceARN(current),
			Reason: current.Instance.Status,
			Detail: "Only ACTIVE and DRAINING container instances can change state.",
		}, nil
	case err == store.ErrNotFound:
		return nil, &ecs.Failure{Arn: arn, Reason: "MISSING"}, nil
	case err != nil:
		return nil, nil, wireError(err)
	}
	return rec, nil, nil
}
