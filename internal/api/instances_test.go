package api_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/google/go-cmp/cmp"

	"github.com/gantry-dev/gantry/internal/api"
	"github.com/gantry-dev/gantry/internal/awsapi"
	wire "github.com/gantry-dev/gantry/internal/ecs"
	"github.com/gantry-dev/gantry/internal/store"
	"github.com/gantry-dev/gantry/internal/store/storetest"
	"github.com/gantry-dev/gantry/internal/testenv"
)

func instanceARN(cluster, id string) string {
	return arnPrefix + "container-instance/" + cluster + "/" + id
}

// startWithStore serves the ECS API over a store the test can also write
// to directly: container instances and tasks come from the agent protocol,
// which these tests stand in for.
func startWithStore(t testing.TB) (*store.Store, *ecs.Client) {
	t.Helper()
	st := storetest.New(t)
	a := api.New(api.Options{Store: st, Region: testenv.Region, Account: "000000000000"})
	return st, serveAPI(t, a)
}

// serveAPI serves a over HTTP for the test and returns a client for it.
func serveAPI(t testing.TB, a *api.API) *ecs.Client {
	t.Helper()
	keys, err := awsapi.NewKeyring(awsapi.Principal{Name: "default", AccessKeyID: testenv.AccessKeyID, SecretAccessKey: testenv.SecretAccessKey})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(awsapi.NewHandler(awsapi.Options{
		Services: []awsapi.Service{a.Service()},
		Verifier: &awsapi.Verifier{Keys: keys},
	}))
	t.Cleanup(srv.Close) // before the store closes
	return testenv.ECS(srv.URL)
}

// putInstance registers a container instance the way the agent protocol
// records one: 2 vCPU, 3768 MiB, the agent's reserved ports and the
// built-in attributes. edit may change it before it is committed.
func putInstance(t testing.TB, st *store.Store, cluster string, edit func(*store.InstanceRecord)) *store.InstanceRecord {
	t.Helper()
	id := wire.NewID()
	rec := &store.InstanceRecord{
		ID:        id,
		Cluster:   cluster,
		TokenHash: "0000",
		Instance: wire.ContainerInstance{
			ContainerInstanceArn: instanceARN(cluster, id),
			Status:               "ACTIVE",
			AgentConnected:       true,
			RegisteredResources: []wire.Resource{
				{Name: "CPU", Type: "INTEGER", IntegerValue: 2048},
				{Name: "MEMORY", Type: "INTEGER", IntegerValue: 3768},
				{Name: "PORTS", Type: "STRINGSET", StringSetValue: []string{"22", "2375", "2376", "51678"}},
				{Name: "PORTS_UDP", Type: "STRINGSET", StringSetValue: []string{}},
			},
			VersionInfo: &wire.VersionInfo{AgentVersion: "0.1.0", DockerVersion: "27.3.1"},
			Attributes: []wire.Attribute{
				{Name: "ecs.os-type", Value: "linux"},
				{Name: "ecs.cpu-architecture", Value: "x86_64"},
				{Name: "ecs.availability-zone", Value: "local-1a"},
				{Name: "ecs.instance-type", Value: "local"},
				{Name: "com.amazonaws.ecs.capability.docker-remote-api.1.44"},
			},
			RegisteredAt: wire.At(time.Now()),
			Version:      1,
		},
	}
	if edit != nil {
		edit(rec)
	}
	if _, err := st.Commit(context.Background(), st.Instances.Create(cluster+"/"+id, rec)); err != nil {
		t.Fatalf("commit instance: %v", err)
	}
	return rec
}

// putTask places a task record on a host, as placement and the agent
// protocol would leave it.
func putTask(t testing.TB, st *store.Store, cluster, hostID, lastStatus, desiredStatus string, launchType wire.LaunchType, size wire.TaskSize, ports ...string) *store.TaskRecord {
	t.Helper()
	id := wire.NewID()
	rec := &store.TaskRecord{
		Task: wire.Task{
			TaskArn:       arnPrefix + "task/" + cluster + "/" + id,
			ClusterArn:    clusterARN(cluster),
			LastStatus:    lastStatus,
			DesiredStatus: desiredStatus,
			LaunchType:    launchType,
		},
		HostID: hostID,
		Size:   size,
		Ports:  ports,
	}
	if _, err := st.Commit(context.Background(), st.Tasks.Create(cluster+"/"+id, rec)); err != nil {
		t.Fatalf("commit task: %v", err)
	}
	return rec
}

// setTaskStatus moves a stored task to lastStatus and desiredStatus.
func setTaskStatus(t testing.TB, st *store.Store, cluster string, task *store.TaskRecord, lastStatus, desiredStatus string) {
	t.Helper()
	key := cluster + "/" + task.Task.TaskArn[len(task.Task.TaskArn)-32:]
	_, err := st.Tasks.Update(context.Background(), key, func(r *store.TaskRecord) error {
		r.Task.LastStatus, r.Task.DesiredStatus = lastStatus, desiredStatus
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func resource(name, typ string, i int32, set ...string) types.Resource {
	r := types.Resource{Name: aws.String(name), Type: aws.String(typ), IntegerValue: i}
	if typ == "STRINGSET" {
		r.StringSetValue = append([]string{}, set...)
	}
	return r
}

func describeOne(t *testing.T, c *ecs.Client, cluster, ref string, include ...types.ContainerInstanceField) types.ContainerInstance {
	t.Helper()
	out, err := c.DescribeContainerInstances(context.Background(), &ecs.DescribeContainerInstancesInput{
		Cluster: aws.String(cluster), ContainerInstances: []string{ref}, Include: include,
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.ContainerInstances) != 1 {
		t.Fatalf("DescribeContainerInstances(%s) = %d instances, failures %+v", ref, len(out.ContainerInstances), out.Failures)
	}
	return out.ContainerInstances[0]
}

func TestDescribeContainerInstances(t *testing.T) {
	t.Parallel()
	st, c := startWithStore(t)
	ctx := context.Background()
	mustCreateCluster(t, c, &ecs.CreateClusterInput{ClusterName: aws.String("hosts")})
	mustCreateCluster(t, c, &ecs.CreateClusterInput{ClusterName: aws.String("other")})
	busy := putInstance(t, st, "hosts", func(r *store.InstanceRecord) {
		r.Instance.Tags = []wire.Tag{{Key: "team", Value: "a"}}
	})
	idle := putInstance(t, st, "hosts", nil)
	elsewhere := putInstance(t, st, "other", nil)

	putTask(t, st, "hosts", busy.ID, "RUNNING", "RUNNING", wire.LaunchTypeEC2, wire.TaskSize{CPU: 256, Memory: 512}, "80/tcp", "53/udp")
	putTask(t, st, "hosts", busy.ID, "PENDING", "RUNNING", wire.LaunchTypeEC2, wire.TaskSize{CPU: 128, Memory: 128}, "8080/tcp")
	putTask(t, st, "hosts", busy.ID, "RUNNING", "STOPPED", wire.LaunchTypeEC2, wire.TaskSize{CPU: 100, Memory: 100})
	putTask(t, st, "hosts", busy.ID, "STOPPED", "STOPPED", wire.LaunchTypeEC2, wire.TaskSize{CPU: 1000, Memory: 1000}, "443/tcp")

	t.Run("remaining resources and counts", func(t *testing.T) {
		got := describeOne(t, c, "hosts", busy.ID)
		// Every task not yet STOPPED holds its reservation, the stopping
		// one included.
		want := []types.Resource{
			resource("CPU", "INTEGER", 2048-256-128-100),
			resource("MEMORY", "INTEGER", 3768-512-128-100),
			resource("PORTS", "STRINGSET", 0, "22", "2375", "2376", "51678", "80", "8080"),
			resource("PORTS_UDP", "STRINGSET", 0, "53"),
		}
		if diff := cmp.Diff(want, got.RemainingResources, ignoreUnexported); diff != "" {
			t.Errorf("remainingResources (-want +got):\n%s", diff)
		}
		// runningTasksCount counts tasks whose desiredStatus is RUNNING;
		// pendingTasksCount those whose lastStatus is PENDING.
		if got.RunningTasksCount != 2 || got.PendingTasksCount != 1 {
			t.Errorf("running, pending = %d, %d; want 2, 1", got.RunningTasksCount, got.PendingTasksCount)
		}
		if aws.ToString(got.ContainerInstanceArn) != instanceARN("hosts", busy.ID) || aws.ToString(got.Status) != "ACTIVE" || !got.AgentConnected {
			t.Errorf("instance = %s %s connected=%v", aws.ToString(got.ContainerInstanceArn), aws.ToString(got.Status), got.AgentConnected)
		}
		if got.Tags != nil || got.HealthStatus != nil {
			t.Errorf("tags %v / health %v shown without include", got.Tags, got.HealthStatus)
		}
		if len(got.Attributes) != 5 || aws.ToString(got.VersionInfo.AgentVersion) != "0.1.0" || got.RegisteredAt == nil {
			t.Errorf("attributes %d, versionInfo %+v, registeredAt %v", len(got.Attributes), got.VersionInfo, got.RegisteredAt)
		}
	})

	t.Run("idle instance has everything registered", func(t *testing.T) {
		got := describeOne(t, c, "hosts", instanceARN("hosts", idle.ID))
		if got.RemainingResources[0].IntegerValue != 2048 || got.RemainingResources[1].IntegerValue != 3768 {
			t.Errorf("remaining = %+v", got.RemainingResources)
		}
		if got.RunningTasksCount != 0 || got.PendingTasksCount != 0 {
			t.Errorf("counts = %d, %d", got.RunningTasksCount, got.PendingTasksCount)
		}
	})

	t.Run("include tags and health", func(t *testing.T) {
		got := describeOne(t, c, "hosts", busy.ID, types.ContainerInstanceFieldTags, types.ContainerInstanceFieldContainerInstanceHealth)
		if diff := cmp.Diff([]types.Tag{{Key: aws.String("team"), Value: aws.String("a")}}, got.Tags, ignoreUnexported); diff != "" {
			t.Errorf("tags (-want +got):\n%s", diff)
		}
		if got.HealthStatus == nil || got.HealthStatus.OverallStatus != types.InstanceHealthCheckStateInsufficientData {
			t.Errorf("healthStatus = %+v", got.HealthStatus)
		}
		idleTags := describeOne(t, c, "hosts", idle.ID, types.ContainerInstanceFieldTags)
		if idleTags.Tags == nil || len(idleTags.Tags) != 0 {
			t.Errorf("untagged instance tags = %#v, want []", idleTags.Tags)
		}
	})

	t.Run("missing, other cluster and malformed", func(t *testing.T) {
		unknown := wire.NewID()
		out, err := c.DescribeContainerInstances(ctx, &ecs.DescribeContainerInstancesInput{
			Cluster: aws.String("hosts"),
			ContainerInstances: []string{
				unknown, busy.ID, instanceARN("other", elsewhere.ID), elsewhere.ID,
				arnPrefix + "task/hosts/" + busy.ID,
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.ContainerInstances) != 1 || aws.ToString(out.ContainerInstances[0].ContainerInstanceArn) != instanceARN("hosts", busy.ID) {
			t.Errorf("described %+v", out.ContainerInstances)
		}
		want := []types.Failure{
			{Arn: aws.String(instanceARN("hosts", unknown)), Reason: aws.String("MISSING")},
			{Arn: aws.String(instanceARN("other", elsewhere.ID)), Reason: aws.String("MISSING")},
			{Arn: aws.String(instanceARN("hosts", elsewhere.ID)), Reason: aws.String("MISSING")},
			{Arn: aws.String(arnPrefix + "task/hosts/" + busy.ID), Reason: aws.String("MISSING")},
		}
		if diff := cmp.Diff(want, out.Failures, ignoreUnexported); diff != "" {
			t.Errorf("failures (-want +got):\n%s", diff)
		}
	})

	t.Run("short ARN", func(t *testing.T) {
		got := describeOne(t, c, "other", arnPrefix+"container-instance/"+elsewhere.ID)
		if aws.ToString(got.ContainerInstanceArn) != instanceARN("other", elsewhere.ID) {
			t.Errorf("arn = %s", aws.ToString(got.ContainerInstanceArn))
		}
	})

	t.Run("errors", func(t *testing.T) {
		many := make([]string, 101)
		for i := range many {
			many[i] = wire.NewID()
		}
		_, err := c.DescribeContainerInstances(ctx, &ecs.DescribeContainerInstancesInput{Cluster: aws.String("hosts"), ContainerInstances: many})
		wantAPIError(t, err, "InvalidParameterException", "100")
		_, err = c.DescribeContainerInstances(ctx, &ecs.DescribeContainerInstancesInput{Cluster: aws.String("hosts"), ContainerInstances: []string{}})
		wantAPIError(t, err, "InvalidParameterException")
		_, err = c.DescribeContainerInstances(ctx, &ecs.DescribeContainerInstancesInput{Cluster: aws.String("nope"), ContainerInstances: []string{busy.ID}})
		wantAPIError(t, err, "ClusterNotFoundException", "Cluster not found.")
		_, err = c.DescribeContainerInstances(ctx, &ecs.DescribeContainerInstancesInput{
			Cluster: aws.String("hosts"), ContainerInstances: []string{busy.ID}, Include: []types.ContainerInstanceField{"STATISTICS"},
		})
		wantAPIError(t, err, "InvalidParameterException", "include[0]")
	})
}

func TestListContainerInstances(t *testing.T) {
	t.Parallel()
	st, c := startWithStore(t)
	ctx := context.Background()
	mustCreateCluster(t, c, &ecs.CreateClusterInput{ClusterName: aws.String("fleet")})
	mustCreateCluster(t, c, &ecs.CreateClusterInput{ClusterName: aws.String("fleet-b")})
	status := map[string]string{}
	var all []string
	for i, s := range []string{"ACTIVE", "ACTIVE", "DRAINING", "INACTIVE", "ACTIVE", "DRAINING", "ACTIVE"} {
		rec := putInstance(t, st, "fleet", func(r *store.InstanceRecord) { r.Instance.Status = s })
		status[rec.Instance.ContainerInstanceArn] = s
		all = append(all, rec.Instance.ContainerInstanceArn)
		if i == 0 { // a neighbour whose name shares the prefix stays out
			putInstance(t, st, "fleet-b", nil)
		}
	}
	slices.Sort(all) // IDs order the list
	with := func(want ...string) []string {
		var out []string
		for _, arn := range all {
			if slices.Contains(want, status[arn]) {
				out = append(out, arn)
			}
		}
		return out
	}
	list := func(t *testing.T, in *ecs.ListContainerInstancesInput) []string {
		t.Helper()
		var got []string
		pages := ecs.NewListContainerInstancesPaginator(c, in)
		for pages.HasMorePages() {
			out, err := pages.NextPage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if in.MaxResults != nil && len(out.ContainerInstanceArns) > int(*in.MaxResults) {
				t.Fatalf("page of %d, maxResults %d", len(out.ContainerInstanceArns), *in.MaxResults)
			}
			got = append(got, out.ContainerInstanceArns...)
		}
		return got
	}

	tests := []struct {
		name   string
		status types.ContainerInstanceStatus
		max    *int32
		want   []string
	}{
		{"default lists all but INACTIVE", "", nil, with("ACTIVE", "DRAINING")},
		{"paged", "", aws.Int32(2), with("ACTIVE", "DRAINING")},
		{"ACTIVE", types.ContainerInstanceStatusActive, aws.Int32(1), with("ACTIVE")},
		{"DRAINING", types.ContainerInstanceStatusDraining, nil, with("DRAINING")},
		{"REGISTERING", types.ContainerInstanceStatusRegistering, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := list(t, &ecs.ListContainerInstancesInput{Cluster: aws.String("fleet"), Status: tt.status, MaxResults: tt.max})
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("arns (-want +got):\n%s", diff)
			}
		})
	}

	t.Run("empty cluster answers an empty list", func(t *testing.T) {
		mustCreateCluster(t, c, &ecs.CreateClusterInput{ClusterName: aws.String("empty")})
		out, err := c.ListContainerInstances(ctx, &ecs.ListContainerInstancesInput{Cluster: aws.String("empty"), Filter: aws.String("  ")})
		if err != nil {
			t.Fatal(err)
		}
		if out.ContainerInstanceArns == nil || len(out.ContainerInstanceArns) != 0 || out.NextToken != nil {
			t.Errorf("got %#v, token %v", out.ContainerInstanceArns, out.NextToken)
		}
	})

	t.Run("errors", func(t *testing.T) {
		_, err := c.ListContainerInstances(ctx, &ecs.ListContainerInstancesInput{Cluster: aws.String("fleet"), Filter: aws.String("attribute:ecs.os-type ==")})
		wantAPIError(t, err, "InvalidParameterException", "filter: expected a value")
		_, err = c.ListContainerInstances(ctx, &ecs.ListContainerInstancesInput{Cluster: aws.String("fleet"), Status: "INACTIVE"})
		wantAPIError(t, err, "InvalidParameterException", "status")
		_, err = c.ListContainerInstances(ctx, &ecs.ListContainerInstancesInput{Cluster: aws.String("fleet"), MaxResults: aws.Int32(101)})
		wantAPIError(t, err, "InvalidParameterException", "maxResults")
		_, err = c.ListContainerInstances(ctx, &ecs.ListContainerInstancesInput{Cluster: aws.String("gone")})
		wantAPIError(t, err, "ClusterNotFoundException")
		first, err := c.ListContainerInstances(ctx, &ecs.ListContainerInstancesInput{Cluster: aws.String("fleet"), MaxResults: aws.Int32(1)})
		if err != nil || first.NextToken == nil {
			t.Fatalf("first page: %v, token %v", err, first.NextToken)
		}
		_, err = c.ListContainerInstances(ctx, &ecs.ListContainerInstancesInput{Cluster: aws.String("fleet-b"), NextToken: first.NextToken})
		wantAPIError(t, err, "InvalidParameterException", "nextToken")
		_, err = c.ListClusters(ctx, &ecs.ListClustersInput{NextToken: first.NextToken})
		wantAPIError(t, err, "InvalidParameterException", "nextToken")
	})
}

func TestDeregisterContainerInstance(t *testing.T) {
	t.Parallel()
	st, c := startWithStore(t)
	ctx := context.Background()
	mustCreateCluster(t, c, &ecs.CreateClusterInput{ClusterName: aws.String("dereg")})

	t.Run("running tasks need force", func(t *testing.T) {
		host := putInstance(t, st, "dereg", nil)
		task := putTask(t, st, "dereg", host.ID, "RUNNING", "RUNNING", wire.LaunchTypeEC2, wire.TaskSize{CPU: 10, Memory: 10})
		_, err := c.DeregisterContainerInstance(ctx, &ecs.DeregisterContainerInstanceInput{Cluster: aws.String("dereg"), ContainerInstance: aws.String(host.ID)})
		wantAPIError(t, err, "InvalidParameterException", "Found running tasks on the instance.")
		if got := describeOne(t, c, "dereg", host.ID); aws.ToString(got.Status) != "ACTIVE" {
			t.Errorf("refused deregistration left status %s", aws.ToString(got.Status))
		}

		out, err := c.DeregisterContainerInstance(ctx, &ecs.DeregisterContainerInstanceInput{
			Cluster: aws.String("dereg"), ContainerInstance: aws.String(host.Instance.ContainerInstanceArn), Force: aws.Bool(true),
		})
		if err != nil {
			t.Fatal(err)
		}
		ci := out.ContainerInstance
		if aws.ToString(ci.Status) != "INACTIVE" || ci.AgentConnected || ci.Version != host.Instance.Version+1 {
			t.Errorf("deregistered: status %s connected %v version %d", aws.ToString(ci.Status), ci.AgentConnected, ci.Version)
		}
		if ci.RunningTasksCount != 1 {
			t.Errorf("runningTasksCount = %d; the orphaned task is left alone", ci.RunningTasksCount)
		}
		// Tasks are left alone: the task record is untouched.
		it, ok := st.Tasks.Get("dereg/" + task.Task.TaskArn[len(task.Task.TaskArn)-32:])
		if !ok || it.Value.Task.LastStatus != "RUNNING" || it.Value.Task.DesiredStatus != "RUNNING" {
			t.Errorf("task after forced deregistration = %+v", it)
		}
		// Still describable, and no longer listed.
		if got := describeOne(t, c, "dereg", host.ID); aws.ToString(got.Status) != "INACTIVE" {
			t.Errorf("describe after deregistration: status %s", aws.ToString(got.Status))
		}
		list, err := c.ListContainerInstances(ctx, &ecs.ListContainerInstancesInput{Cluster: aws.String("dereg")})
		if err != nil {
			t.Fatal(err)
		}
		if slices.Contains(list.ContainerInstanceArns, host.Instance.ContainerInstanceArn) {
			t.Errorf("INACTIVE instance listed: %v", list.ContainerInstanceArns)
		}
		// Deregistering again succeeds and changes nothing.
		again, err := c.DeregisterContainerInstance(ctx, &ecs.DeregisterContainerInstanceInput{Cluster: aws.String("dereg"), ContainerInstance: aws.String(host.ID)})
		if err != nil {
			t.Fatal(err)
		}
		if aws.ToString(again.ContainerInstance.Status) != "INACTIVE" || again.ContainerInstance.Version != ci.Version {
			t.Errorf("second deregistration: %s version %d", aws.ToString(again.ContainerInstance.Status), again.ContainerInstance.Version)
		}
	})

	t.Run("stopped and stopping tasks do not block", func(t *testing.T) {
		host := putInstance(t, st, "dereg", func(r *store.InstanceRecord) { r.Instance.Status = "DRAINING" })
		putTask(t, st, "dereg", host.ID, "STOPPED", "STOPPED", wire.LaunchTypeEC2, wire.TaskSize{CPU: 10, Memory: 10})
		putTask(t, st, "dereg", host.ID, "RUNNING", "STOPPED", wire.LaunchTypeEC2, wire.TaskSize{CPU: 10, Memory: 10})
		out, err := c.DeregisterContainerInstance(ctx, &ecs.DeregisterContainerInstanceInput{Cluster: aws.String("dereg"), ContainerInstance: aws.String(host.ID)})
		if err != nil {
			t.Fatal(err)
		}
		if aws.ToString(out.ContainerInstance.Status) != "INACTIVE" {
			t.Errorf("status = %s", aws.ToString(out.ContainerInstance.Status))
		}
	})

	t.Run("errors", func(t *testing.T) {
		_, err := c.DeregisterContainerInstance(ctx, &ecs.DeregisterContainerInstanceInput{Cluster: aws.String("dereg"), ContainerInstance: aws.String(wire.NewID())})
		wantAPIError(t, err, "InvalidParameterException", "not found")
		other := putInstance(t, st, "default", nil)
		_, err = c.DeregisterContainerInstance(ctx, &ecs.DeregisterContainerInstanceInput{Cluster: aws.String("dereg"), ContainerInstance: aws.String(other.Instance.ContainerInstanceArn)})
		wantAPIError(t, err, "InvalidParameterException", "not found")
		_, err = c.DeregisterContainerInstance(ctx, &ecs.DeregisterContainerInstanceInput{ContainerInstance: aws.String(other.ID)})
		wantAPIError(t, err, "ClusterNotFoundException")
	})
}

func TestUpdateContainerInstancesState(t *testing.T) {
	t.Parallel()
	st, c := startWithStore(t)
	ctx := context.Background()
	mustCreateCluster(t, c, &ecs.CreateClusterInput{ClusterName: aws.String("drain")})
	a := putInstance(t, st, "drain", nil)
	b := putInstance(t, st, "drain", nil)
	gone := putInstance(t, st, "drain", func(r *store.InstanceRecord) { r.Instance.Status = "INACTIVE" })
	unknown := wire.NewID()

	update := func(t *testing.T, status types.ContainerInstanceStatus, refs ...string) *ecs.UpdateContainerInstancesStateOutput {
		t.Helper()
		out, err := c.UpdateContainerInstancesState(ctx, &ecs.UpdateContainerInstancesStateInput{
			Cluster: aws.String("drain"), ContainerInstances: refs, Status: status,
		})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}

	out := update(t, types.ContainerInstanceStatusDraining, a.ID, b.Instance.ContainerInstanceArn, gone.ID, unknown)
	if len(out.ContainerInstances) != 2 {
		t.Fatalf("updated %d instances, want 2", len(out.ContainerInstances))
	}
	for _, ci := range out.ContainerInstances {
		if aws.ToString(ci.Status) != "DRAINING" || ci.Version != 2 {
			t.Errorf("%s: status %s version %d, want DRAINING 2", aws.ToString(ci.ContainerInstanceArn), aws.ToString(ci.Status), ci.Version)
		}
	}
	wantFailures := []types.Failure{
		{Arn: aws.String(gone.Instance.ContainerInstanceArn), Reason: aws.String("INACTIVE"), Detail: aws.String("Only ACTIVE and DRAINING container instances can change state.")},
		{Arn: aws.String(instanceARN("drain", unknown)), Reason: aws.String("MISSING")},
	}
	if diff := cmp.Diff(wantFailures, out.Failures, ignoreUnexported); diff != "" {
		t.Errorf("failures (-want +got):\n%s", diff)
	}

	// Draining again changes nothing; ACTIVE brings it back.
	if out := update(t, types.ContainerInstanceStatusDraining, a.ID); out.ContainerInstances[0].Version != 2 {
		t.Errorf("repeated DRAINING bumped the version to %d", out.ContainerInstances[0].Version)
	}
	if out := update(t, types.ContainerInstanceStatusActive, a.ID); aws.ToString(out.ContainerInstances[0].Status) != "ACTIVE" || out.ContainerInstances[0].Version != 3 {
		t.Errorf("back to ACTIVE: %s version %d", aws.ToString(out.ContainerInstances[0].Status), out.ContainerInstances[0].Version)
	}
	if got := describeOne(t, c, "drain", b.ID); aws.ToString(got.Status) != "DRAINING" {
		t.Errorf("described status %s, want DRAINING", aws.ToString(got.Status))
	}

	t.Run("errors", func(t *testing.T) {
		for _, s := range []types.ContainerInstanceStatus{"REGISTERING", "INACTIVE", "draining"} {
			_, err := c.UpdateContainerInstancesState(ctx, &ecs.UpdateContainerInstancesStateInput{
				Cluster: aws.String("drain"), ContainerInstances: []string{a.ID}, Status: s,
			})
			wantAPIError(t, err, "InvalidParameterException", "Container instance status should be one of [ACTIVE, DRAINING]")
		}
		eleven := make([]string, 11)
		for i := range eleven {
			eleven[i] = fmt.Sprintf("%032d", i)
		}
		_, err := c.UpdateContainerInstancesState(ctx, &ecs.UpdateContainerInstancesStateInput{
			Cluster: aws.String("drain"), ContainerInstances: eleven, Status: types.ContainerInstanceStatusDraining,
		})
		wantAPIError(t, err, "InvalidParameterException", "10")
		_, err = c.UpdateContainerInstancesState(ctx, &ecs.UpdateContainerInstancesStateInput{
			Cluster: aws.String("nope"), ContainerInstances: []string{a.ID}, Status: types.ContainerInstanceStatusDraining,
		})
		wantAPIError(t, err, "ClusterNotFoundException")
	})
}

func TestContainerInstanceTags(t *testing.T) {
	t.Parallel()
	st, c := startWithStore(t)
	ctx := context.Background()
	mustCreateCluster(t, c, &ecs.CreateClusterInput{ClusterName: aws.String("tagged")})
	host := putInstance(t, st, "tagged", nil)
	arn := host.Instance.ContainerInstanceArn

	_, err := c.TagResource(ctx, &ecs.TagResourceInput{ResourceArn: aws.String(arn), Tags: []types.Tag{
		{Key: aws.String("env"), Value: aws.String("dev")}, {Key: aws.String("rack"), Value: aws.String("r1")},
	}})
	if err != nil {
		t.Fatal(err)
	}
	// The short ARN form names the same instance.
	short := arnPrefix + "container-instance/" + host.ID
	if _, err := c.UntagResource(ctx, &ecs.UntagResourceInput{ResourceArn: aws.String(short), TagKeys: []string{"rack"}}); err != nil {
		t.Fatal(err)
	}
	out, err := c.ListTagsForResource(ctx, &ecs.ListTagsForResourceInput{ResourceArn: aws.String(arn)})
	if err != nil {
		t.Fatal(err)
	}
	want := []types.Tag{{Key: aws.String("env"), Value: aws.String("dev")}}
	if diff := cmp.Diff(want, out.Tags, ignoreUnexported); diff != "" {
		t.Errorf("tags (-want +got):\n%s", diff)
	}
	got := describeOne(t, c, "tagged", host.ID, types.ContainerInstanceFieldTags)
	if diff := cmp.Diff(want, got.Tags, ignoreUnexported); diff != "" {
		t.Errorf("described tags (-want +got):\n%s", diff)
	}

	_, err = c.ListTagsForResource(ctx, &ecs.ListTagsForResourceInput{ResourceArn: aws.String(instanceARN("tagged", wire.NewID()))})
	wantAPIError(t, err, "ResourceNotFoundException")
	_, err = c.TagResource(ctx, &ecs.TagResourceInput{ResourceArn: aws.String(arnPrefix + "container-instance/" + wire.NewID()), Tags: want})
	wantAPIError(t, err, "ResourceNotFoundException")
}

func TestClusterCountsFromInstancesAndTasks(t *testing.T) {
	t.Parallel()
	st, c := startWithStore(t)
	ctx := context.Background()
	mustCreateCluster(t, c, &ecs.CreateClusterInput{ClusterName: aws.String("busy")})
	mustCreateCluster(t, c, &ecs.CreateClusterInput{ClusterName: aws.String("busy-too")})
	h1 := putInstance(t, st, "busy", nil)
	putInstance(t, st, "busy", func(r *store.InstanceRecord) { r.Instance.Status = "DRAINING" })
	putInstance(t, st, "busy", func(r *store.InstanceRecord) { r.Instance.Status = "INACTIVE" })
	putInstance(t, st, "busy-too", nil)
	fargateHost := wire.NewID() // Fargate capacity is never a container instance

	tasks := []*store.TaskRecord{
		putTask(t, st, "busy", h1.ID, "RUNNING", "RUNNING", wire.LaunchTypeEC2, wire.TaskSize{}),
		putTask(t, st, "busy", h1.ID, "RUNNING", "RUNNING", wire.LaunchTypeEC2, wire.TaskSize{}),
		putTask(t, st, "busy", h1.ID, "PENDING", "RUNNING", wire.LaunchTypeEC2, wire.TaskSize{}),
		putTask(t, st, "busy", h1.ID, "PROVISIONING", "RUNNING", wire.LaunchTypeEC2, wire.TaskSize{}),
		putTask(t, st, "busy", fargateHost, "RUNNING", "RUNNING", wire.LaunchTypeFARGATE, wire.TaskSize{}),
		putTask(t, st, "busy", fargateHost, "PENDING", "RUNNING", wire.LaunchTypeFARGATE, wire.TaskSize{}),
		putTask(t, st, "busy", fargateHost, "PENDING", "RUNNING", wire.LaunchTypeFARGATE, wire.TaskSize{}),
	}
	putTask(t, st, "busy", h1.ID, "STOPPED", "STOPPED", wire.LaunchTypeEC2, wire.TaskSize{})
	putTask(t, st, "busy-too", h1.ID, "RUNNING", "RUNNING", wire.LaunchTypeEC2, wire.TaskSize{})

	out, err := c.DescribeClusters(ctx, &ecs.DescribeClustersInput{Clusters: []string{"busy"}, Include: []types.ClusterField{types.ClusterFieldStatistics}})
	if err != nil {
		t.Fatal(err)
	}
	cl := out.Clusters[0]
	if cl.RegisteredContainerInstancesCount != 2 || cl.RunningTasksCount != 3 || cl.PendingTasksCount != 3 {
		t.Errorf("instances %d running %d pending %d; want 2 3 3", cl.RegisteredContainerInstancesCount, cl.RunningTasksCount, cl.PendingTasksCount)
	}
	stats := map[string]string{}
	for _, kv := range cl.Statistics {
		stats[aws.ToString(kv.Name)] = aws.ToString(kv.Value)
	}
	for name, want := range map[string]string{
		"runningEC2TasksCount": "2", "runningFargateTasksCount": "1",
		"pendingEC2TasksCount": "1", "pendingFargateTasksCount": "2",
	} {
		if stats[name] != want {
			t.Errorf("statistics[%s] = %q, want %q", name, stats[name], want)
		}
	}

	t.Run("delete refuses while instances are registered", func(t *testing.T) {
		_, err := c.DeleteCluster(ctx, &ecs.DeleteClusterInput{Cluster: aws.String("busy")})
		wantAPIError(t, err, "ClusterContainsContainerInstancesException", "The Cluster cannot be deleted while Container Instances are active or draining.")
	})

	t.Run("delete refuses while tasks are active", func(t *testing.T) {
		for _, ref := range []string{"busy", "busy-too"} {
			list, err := c.ListContainerInstances(ctx, &ecs.ListContainerInstancesInput{Cluster: aws.String(ref)})
			if err != nil {
				t.Fatal(err)
			}
			for _, arn := range list.ContainerInstanceArns {
				if _, err := c.DeregisterContainerInstance(ctx, &ecs.DeregisterContainerInstanceInput{Cluster: aws.String(ref), ContainerInstance: aws.String(arn), Force: aws.Bool(true)}); err != nil {
					t.Fatal(err)
				}
			}
		}
		_, err := c.DeleteCluster(ctx, &ecs.DeleteClusterInput{Cluster: aws.String("busy")})
		wantAPIError(t, err, "ClusterContainsTasksException", "The Cluster cannot be deleted while Tasks are active.")
		// A task still PROVISIONING is active though neither count shows it.
		for _, task := range tasks {
			if task.Task.LastStatus != "PROVISIONING" {
				setTaskStatus(t, st, "busy", task, "STOPPED", "STOPPED")
			}
		}
		_, err = c.DeleteCluster(ctx, &ecs.DeleteClusterInput{Cluster: aws.String("busy")})
		wantAPIError(t, err, "ClusterContainsTasksException")
		setTaskStatus(t, st, "busy", tasks[3], "STOPPED", "STOPPED")
		del, err := c.DeleteCluster(ctx, &ecs.DeleteClusterInput{Cluster: aws.String("busy")})
		if err != nil {
			t.Fatal(err)
		}
		if aws.ToString(del.Cluster.Status) != "INACTIVE" || del.Cluster.RegisteredContainerInstancesCount != 0 || del.Cluster.RunningTasksCount != 0 {
			t.Errorf("deleted cluster = %s, %d instances, %d running", aws.ToString(del.Cluster.Status), del.Cluster.RegisteredContainerInstancesCount, del.Cluster.RunningTasksCount)
		}
	})
}
