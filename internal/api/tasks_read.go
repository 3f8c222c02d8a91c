package api

import (
	"cmp"
	"context"
	"slices"
	"strings"

	"github.com/gantry-dev/gantry/internal/controller"
	"github.com/gantry-dev/gantry/internal/ecs"
	"github.com/gantry-dev/gantry/internal/store"
)

const maxDescribeTasks = 100

// StartTask starts one task on each named container instance, bypassing
// placement strategies but not the instances' resources.
func (a *API) StartTask(ctx context.Context, req *ecs.StartTaskRequest) (*ecs.StartTaskResponse, error) {
	if len(req.ContainerInstances) == 0 || len(req.ContainerInstances) > maxRunCount {
		return nil, invalidParameter("containerInstances must contain between 1 and %d container instances.", maxRunCount)
	}
	cl, err := a.activeCluster(req.Cluster)
	if err != nil {
		return nil, err
	}
	cluster := cl.Value.Cluster.ClusterName
	l, err := a.resolveLaunch(cluster, ecs.LaunchTypeEC2, taskParams{
		taskDefinition: req.TaskDefinition, overrides: req.Overrides, network: req.NetworkConfiguration,
		group: req.Group, startedBy: req.StartedBy, tags: req.Tags, propagate: req.PropagateTags,
		execute: req.EnableExecuteCommand,
	})
	if err != nil {
		return nil, err
	}
	p := &controller.Placement{Request: l.demand()}
	var failures []ecs.Failure
	for _, ref := range req.ContainerInstances {
		it, arn := a.findInstance(cluster, ref)
		switch {
		case it == nil:
			failures = append(failures, ecs.Failure{Arn: arn, Reason: "MISSING"})
		case it.Value.Instance.Status == statusInactive:
			failures = append(failures, ecs.Failure{Arn: arn, Reason: "INACTIVE"})
		default:
			p.Hosts = append(p.Hosts, it.Value.ID)
		}
	}
	if len(p.Hosts) == 0 {
		return &ecs.StartTaskResponse{Tasks: []ecs.Task{}, Failures: failures}, nil
	}
	res, err := a.place(ctx, l, p)
	if err != nil {
		return nil, err
	}
	return &ecs.StartTaskResponse{Tasks: res.Tasks, Failures: append(failures, res.Failures...)}, nil
}

// findInstance finds a cluster's container instance by ID or ARN (nil when
// there is none), and returns the ARN to report it by.
func (a *API) findInstance(cluster, ref string) (*store.Item[store.InstanceRecord], string) {
	key, arn, ok := a.instanceRef(cluster, ref)
	if !ok {
		return nil, arn
	}
	it, ok := a.store.Instances.Get(key)
	if !ok {
		return nil, arn
	}
	return it, arn
}

// taskByRef finds a cluster's task by ID or ARN, and returns the ARN to
// report it by.
func (a *API) taskByRef(cluster, ref string) (*store.Item[store.TaskRecord], string) {
	id := ref
	if arn, ok := ecs.ParseARN(ref); ok && arn.Type == "task" {
		parts := strings.Split(arn.Resource, "/")
		if len(parts) != 2 || parts[0] != cluster {
			return nil, ref
		}
		id = parts[1]
	}
	arn := a.arns.Task(cluster, id)
	if strings.HasPrefix(ref, "arn:") {
		arn = ref
	}
	if strings.Contains(id, "/") {
		return nil, arn
	}
	it, ok := a.store.Tasks.Get(cluster + "/" + id)
	if !ok {
		return nil, arn
	}
	return it, arn
}

// StopTask asks a task to stop: its agent sends SIGTERM, then SIGKILL
// after the stop timeout. A task that already stopped is returned as is.
func (a *API) StopTask(ctx context.Context, req *ecs.StopTaskRequest) (*ecs.StopTaskResponse, error) {
	if req.Task == "" {
		return nil, invalidParameter("task is required.")
	}
	if len(req.Reason) > 255 {
		return nil, invalidParameter("reason must be at most 255 characters.")
	}
	cl, err := a.activeCluster(req.Cluster)
	if err != nil {
		return nil, err
	}
	it, _ := a.taskByRef(cl.Value.Cluster.ClusterName, req.Task)
	if it == nil {
		return nil, invalidParameter("The referenced task was not found.")
	}
	hostGone := a.store.HostGone(it.Value.HostID)
	rec, err := a.store.Tasks.Update(ctx, it.Key, func(rec *store.TaskRecord) error {
		reason := cmp.Or(req.Reason, "Task stopped by user")
		rec.RequestStop(ecs.TaskStopCodeUserInitiated, reason, ecs.At(a.now()), hostGone)
		return nil
	})
	if err != nil {
		return nil, wireError(err)
	}
	task := rec.Task
	task.Tags = nil
	return &ecs.StopTaskResponse{Task: &task}, nil
}

// DescribeTasks describes up to 100 tasks of a cluster; unknown ones come
// back as MISSING failures.
func (a *API) DescribeTasks(ctx context.Context, req *ecs.DescribeTasksRequest) (*ecs.DescribeTasksResponse, error) {
	if len(req.Tasks) == 0 {
		return nil, invalidParameter("Tasks cannot be empty.")
	}
	if len(req.Tasks) > maxDescribeTasks {
		return nil, invalidParameter("Tasks cannot have more than %d elements.", maxDescribeTasks)
	}
	for _, f := range req.Include {
		if !slices.Contains(ecs.TaskField("").Values(), f) {
			return nil, invalidParameter("include: %q is not a valid task field.", f)
		}
	}
	cl, err := a.activeCluster(req.Cluster)
	if err != nil {
		return nil, err
	}
	withTags := slices.Contains(req.Include, ecs.TaskFieldTAGS)
	resp := &ecs.DescribeTasksResponse{Tasks: []ecs.Task{}, Failures: []ecs.Failure{}}
	for _, ref := range req.Tasks {
		it, arn := a.taskByRef(cl.Value.Cluster.ClusterName, ref)
		if it == nil {
			resp.Failures = append(resp.Failures, ecs.Failure{Arn: arn, Reason: "MISSING"})
			continue
		}
		t := it.Value.Task
		if !withTags {
			t.Tags = nil
		}
		resp.Tasks = append(resp.Tasks, t)
	}
	return resp, nil
}

// ListTasks lists a cluster's task ARNs, by default those whose desired
// status is RUNNING.
func (a *API) ListTasks(ctx context.Context, req *ecs.ListTasksRequest) (*ecs.ListTasksResponse, error) {
	p, err := parsePage("tasks", req.MaxResults, req.NextToken, defaultPageSize)
	if err != nil {
		return nil, err
	}
	cl, err := a.activeCluster(req.Cluster)
	if err != nil {
		return nil, err
	}
	cluster := cl.Value.Cluster.ClusterName
	match, err := a.taskFilter(cluster, req)
	if err != nil {
		return nil, err
	}
	c := collector{page: p}
	a.store.Tasks.Ascend(cmp.Or(p.after, cluster+"/"), func(it *store.Item[store.TaskRecord]) bool {
		if !strings.HasPrefix(it.Key, cluster+"/") {
			return false
		}
		if !match(it.Value) {
			return true
		}
		return c.add(it.Key, it.Value.Task.TaskArn)
	})
	return &ecs.ListTasksResponse{TaskArns: nonNil(c.out), NextToken: c.next}, nil
}

func (a *API) taskFilter(cluster string, req *ecs.ListTasksRequest) (func(*store.TaskRecord) bool, error) {
	desired := req.DesiredStatus
	switch desired {
	case "":
		desired = ecs.DesiredStatusRUNNING
	case ecs.DesiredStatusRUNNING, ecs.DesiredStatusPENDING, ecs.DesiredStatusSTOPPED:
	default:
		return nil, invalidParameter("desiredStatus: %q is not a valid desired status.", req.DesiredStatus)
	}
	if req.LaunchType != "" && !slices.Contains(ecs.LaunchType("").Values(), req.LaunchType) {
		return nil, invalidParameter("launchType: %q is not a valid launch type.", req.LaunchType)
	}
	hostID := ""
	if req.ContainerInstance != "" {
		it, _ := a.findInstance(cluster, req.ContainerInstance)
		if it == nil {
			return nil, invalidParameter("The referenced container instance %s was not found.", req.ContainerInstance)
		}
		hostID = it.Value.ID
	}
	return func(r *store.TaskRecord) bool {
		t := &r.Task
		family := ""
		if arn, ok := ecs.ParseARN(t.TaskDefinitionArn); ok {
			family, _, _ = strings.Cut(arn.Resource, ":")
		}
		return t.DesiredStatus == string(desired) &&
			(hostID == "" || r.HostID == hostID) &&
			(req.Family == "" || family == req.Family) &&
			(req.StartedBy == "" || t.StartedBy == req.StartedBy) &&
			(req.ServiceName == "" || t.Group == "service:"+req.ServiceName) &&
			(req.LaunchType == "" || t.LaunchType == req.LaunchType)
	}, nil
}
