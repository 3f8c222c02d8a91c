package api_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/google/go-cmp/cmp"

	"github.com/gantry-dev/gantry/internal/api"
	"github.com/gantry-dev/gantry/internal/controller"
	wire "github.com/gantry-dev/gantry/internal/ecs"
	"github.com/gantry-dev/gantry/internal/store"
	"github.com/gantry-dev/gantry/internal/store/storetest"
	"github.com/gantry-dev/gantry/internal/testenv"
)

// startWithScheduler serves the ECS API with a running scheduler over a
// store the test can also write to, and returns the API itself too: it
// is the service controller's Launcher.
func startWithScheduler(t testing.TB) (*store.Store, *api.API, *ecs.Client) {
	t.Helper()
	st := storetest.New(t)
	sched := controller.NewScheduler(st, nil, 1)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		sched.Run(ctx)
	}()
	t.Cleanup(func() { cancel(); <-done }) // before the store closes
	a := api.New(api.Options{Store: st, Region: testenv.Region, Account: "000000000000", Scheduler: sched})
	return st, a, serveAPI(t, a)
}

func storedService(t testing.TB, st *store.Store, cluster, name string) (*store.ServiceRecord, *wire.Deployment) {
	t.Helper()
	it, ok := st.Services.Get(store.ServiceKey(cluster, name))
	if !ok {
		t.Fatalf("service %s/%s is not stored", cluster, name)
	}
	return it.Value, &it.Value.Service.Deployments[0]
}

func TestLaunchServiceTasks(t *testing.T) {
	t.Parallel()
	st, a, c := startWithScheduler(t)
	ctx := context.Background()
	serviceFixture(t, c, "launch")
	zone := func(az string) func(*store.InstanceRecord) {
		return func(r *store.InstanceRecord) {
			for i := range r.Instance.Attributes {
				if r.Instance.Attributes[i].Name == "ecs.availability-zone" {
					r.Instance.Attributes[i].Value = az
				}
			}
		}
	}
	hostA := putInstance(t, st, "launch", zone("local-1a"))
	hostB := putInstance(t, st, "launch", zone("local-1b"))

	mustCreateService(t, c, &ecs.CreateServiceInput{
		Cluster: aws.String("launch"), ServiceName: aws.String("web"), TaskDefinition: aws.String("launch-web"),
		DesiredCount: aws.Int32(2), PropagateTags: types.PropagateTagsService, EnableECSManagedTags: true,
		EnableExecuteCommand: true, Tags: []types.Tag{{Key: aws.String("team"), Value: aws.String("web")}},
	})
	svc, dep := storedService(t, st, "launch", "web")
	res, err := a.LaunchServiceTasks(ctx, svc, dep, 2, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Tasks) != 2 || len(res.Failures) != 0 {
		t.Fatalf("launched %d tasks, failures %+v; want 2", len(res.Tasks), res.Failures)
	}
	wantTags := []wire.Tag{{Key: "team", Value: "web"}, {Key: "aws:ecs:clusterName", Value: "launch"}, {Key: "aws:ecs:serviceName", Value: "web"}}
	var hosts []string
	for _, rec := range res.Tasks {
		task := rec.Task
		if task.StartedBy != dep.Id || task.Group != "service:web" || rec.Service != "launch/web" ||
			!task.EnableExecuteCommand || task.TaskDefinitionArn != taskDefARN("launch-web:2") || task.LaunchType != wire.LaunchTypeEC2 {
			t.Errorf("task startedBy %q group %q service %q exec %v td %s", task.StartedBy, task.Group, rec.Service, task.EnableExecuteCommand, task.TaskDefinitionArn)
		}
		if diff := cmp.Diff(wantTags, task.Tags); diff != "" {
			t.Errorf("task tags (-want +got):\n%s", diff)
		}
		hosts = append(hosts, rec.HostID)
	}
	// By default a service spreads across zones, then instances.
	slices.Sort(hosts)
	if want := slices.Sorted(slices.Values([]string{hostA.ID, hostB.ID})); !slices.Equal(hosts, want) {
		t.Errorf("tasks on %v, want one on each of %v", hosts, want)
	}
	if s := describeService(t, c, "launch", "web"); s.PendingCount != 2 || s.Deployments[0].PendingCount != 2 {
		t.Errorf("pending = %d, deployment pending = %d; want 2", s.PendingCount, s.Deployments[0].PendingCount)
	}

	t.Run("task definition tags, on given hosts", func(t *testing.T) {
		mustCreateService(t, c, &ecs.CreateServiceInput{
			Cluster: aws.String("launch"), ServiceName: aws.String("agent"), TaskDefinition: aws.String("launch-web:1"),
			SchedulingStrategy: types.SchedulingStrategyDaemon, PropagateTags: types.PropagateTagsTaskDefinition,
		})
		svc, dep := storedService(t, st, "launch", "agent")
		res, err := a.LaunchServiceTasks(ctx, svc, dep, 0, []string{hostB.ID})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Tasks) != 1 || res.Tasks[0].HostID != hostB.ID || res.Tasks[0].Service != "launch/agent" {
			t.Fatalf("launched %+v, want one task of launch/agent on %s", res.Tasks, hostB.ID)
		}
		if diff := cmp.Diff([]wire.Tag{{Key: "from", Value: "taskdef"}}, res.Tasks[0].Task.Tags); diff != "" {
			t.Errorf("task tags (-want +got):\n%s", diff)
		}
	})

	t.Run("deregistered task definition", func(t *testing.T) {
		mustDeregister(t, c, "launch-web:2")
		svc, dep := storedService(t, st, "launch", "web")
		res, err := a.LaunchServiceTasks(ctx, svc, dep, 1, nil)
		if err != nil || len(res.Tasks) != 1 {
			t.Fatalf("launch after deregistering = %+v, %v; want a task", res, err)
		}
	})

	t.Run("no instances", func(t *testing.T) {
		mustCreateCluster(t, c, &ecs.CreateClusterInput{ClusterName: aws.String("empty")})
		mustCreateService(t, c, &ecs.CreateServiceInput{
			Cluster: aws.String("empty"), ServiceName: aws.String("web"), TaskDefinition: aws.String("launch-web:1"), DesiredCount: aws.Int32(1),
		})
		svc, dep := storedService(t, st, "empty", "web")
		_, err := a.LaunchServiceTasks(ctx, svc, dep, 1, nil)
		if !errors.Is(err, controller.ErrNoInstances) {
			t.Errorf("launch in an empty cluster = %v, want ErrNoInstances", err)
		}
	})
}
