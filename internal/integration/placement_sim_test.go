package integration_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/smithy-go"

	"github.com/gantry-dev/gantry/internal/agent"
)

// Three simulated instances in three zones, two of one instance type:
// the placement examples of ECS's documentation, through the API.
func TestPlacementSim(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	zones := map[string]string{} // instance ARN → zone
	byZone := map[string]string{}
	for _, z := range []struct{ zone, typ string }{{"zone-a", "t3.small"}, {"zone-b", "t3.small"}, {"zone-c", "m5.large"}} {
		a := e.agent(simRuntime(), func(o *agent.Options) { o.AvailabilityZone, o.InstanceType = z.zone, z.typ })
		zones[a.InstanceARN], byZone[z.zone] = z.zone, a.InstanceARN
	}
	web := simTaskDef("web")
	web.ContainerDefinitions[0].Cpu = 64 // small, so earlier subtests leave room for later ones
	e.register(web)
	perZone := func(tasks []types.Task) map[string]int {
		n := map[string]int{}
		for _, task := range tasks {
			n[zones[aws.ToString(task.ContainerInstanceArn)]]++
		}
		return n
	}

	t.Run("spread across zones", func(t *testing.T) {
		out := e.run(&ecs.RunTaskInput{TaskDefinition: aws.String("web"), Count: aws.Int32(6),
			PlacementStrategy: []types.PlacementStrategy{{Type: types.PlacementStrategyTypeSpread, Field: aws.String("attribute:ecs.availability-zone")}}})
		if got := perZone(out.Tasks); got["zone-a"] != 2 || got["zone-b"] != 2 || got["zone-c"] != 2 {
			t.Errorf("tasks per zone %v, want 2 in each; failures %s", got, failures(out.Failures))
		}
		for _, task := range out.Tasks {
			if aws.ToString(task.AvailabilityZone) != zones[aws.ToString(task.ContainerInstanceArn)] {
				t.Errorf("task in %s reports zone %s", zones[aws.ToString(task.ContainerInstanceArn)], aws.ToString(task.AvailabilityZone))
			}
		}
	})

	t.Run("memberOf instance type", func(t *testing.T) {
		out := e.run(&ecs.RunTaskInput{TaskDefinition: aws.String("web"), Count: aws.Int32(5),
			PlacementConstraints: []types.PlacementConstraint{{Type: types.PlacementConstraintTypeMemberOf, Expression: aws.String("attribute:ecs.instance-type =~ t3.*")}}})
		if got := perZone(out.Tasks); len(out.Tasks) != 5 || got["zone-c"] != 0 {
			t.Errorf("tasks per zone %v, want 5 and none on the m5.large in zone-c", got)
		}
	})

	t.Run("binpack fills one instance first", func(t *testing.T) {
		td := simTaskDef("pack")
		td.ContainerDefinitions[0].Cpu, td.ContainerDefinitions[0].Memory = 64, aws.Int32(512)
		e.register(td)
		out := e.run(&ecs.RunTaskInput{TaskDefinition: aws.String("pack"), Count: aws.Int32(3),
			PlacementStrategy: []types.PlacementStrategy{{Type: types.PlacementStrategyTypeBinpack, Field: aws.String("memory")}}})
		if got := perZone(out.Tasks); len(out.Tasks) != 3 || len(got) != 1 {
			t.Errorf("binpack spread 3 tasks over zones %v, want one instance", got)
		}
		// The instance binpack chose is the one task:group finds.
		list, err := e.ecs.ListContainerInstances(context.Background(), &ecs.ListContainerInstancesInput{
			Cluster: aws.String(e.cluster), Filter: aws.String("task:group == family:pack")})
		if err != nil {
			t.Fatal(err)
		}
		if len(list.ContainerInstanceArns) != 1 || list.ContainerInstanceArns[0] != aws.ToString(out.Tasks[0].ContainerInstanceArn) {
			t.Errorf("ListContainerInstances task:group == family:pack = %v, want the binpacked instance", list.ContainerInstanceArns)
		}
	})

	t.Run("distinctInstance", func(t *testing.T) {
		out := e.run(&ecs.RunTaskInput{TaskDefinition: aws.String("web"), Count: aws.Int32(4), Group: aws.String("one-each"),
			PlacementConstraints: []types.PlacementConstraint{{Type: types.PlacementConstraintTypeDistinctInstance}}})
		if len(out.Tasks) != 3 || len(out.Failures) != 3 || aws.ToString(out.Failures[0].Reason) != "DistinctInstance placement constraint unsatisfied." {
			t.Errorf("distinctInstance placed %d, failures %s; want 3 and DistinctInstance on each", len(out.Tasks), failures(out.Failures))
		}
	})

	t.Run("refusals name every instance", func(t *testing.T) {
		huge := simTaskDef("huge")
		huge.ContainerDefinitions[0].Cpu = 4096
		e.register(huge)
		out := e.run(&ecs.RunTaskInput{TaskDefinition: aws.String("huge")})
		wantFailures(t, out, "RESOURCE:CPU", zones)
		out = e.run(&ecs.RunTaskInput{TaskDefinition: aws.String("web"),
			PlacementConstraints: []types.PlacementConstraint{{Type: types.PlacementConstraintTypeMemberOf, Expression: aws.String("attribute:ecs.instance-type == c5.xlarge")}}})
		wantFailures(t, out, "MemberOf placement constraint unsatisfied.", zones)
	})

	t.Run("bad expressions are InvalidParameterException naming the field", func(t *testing.T) {
		_, err := e.ecs.RunTask(context.Background(), &ecs.RunTaskInput{Cluster: aws.String(e.cluster), TaskDefinition: aws.String("web"),
			PlacementConstraints: []types.PlacementConstraint{{Type: types.PlacementConstraintTypeMemberOf, Expression: aws.String("attribute:ecs.instance-type ==")}}})
		wantInvalid(t, err, "placementConstraints[0].expression")
		_, err = e.ecs.ListContainerInstances(context.Background(), &ecs.ListContainerInstancesInput{
			Cluster: aws.String(e.cluster), Filter: aws.String("attribute:ecs.availability-zone in [zone-a")})
		wantInvalid(t, err, "filter")
		_, err = e.ecs.RunTask(context.Background(), &ecs.RunTaskInput{Cluster: aws.String(e.cluster), TaskDefinition: aws.String("web"),
			PlacementStrategy: []types.PlacementStrategy{{Type: types.PlacementStrategyTypeBinpack, Field: aws.String("disk")}}})
		wantInvalid(t, err, "placementStrategy[0]")
	})

	t.Run("ListContainerInstances filter", func(t *testing.T) {
		for expr, want := range map[string][]string{
			"attribute:ecs.availability-zone == zone-a":                                             {byZone["zone-a"]},
			"attribute:ecs.instance-type == t3.small and attribute:ecs.availability-zone != zone-a": {byZone["zone-b"]},
			"attribute:ecs.availability-zone in [zone-b, zone-c]":                                   {byZone["zone-b"], byZone["zone-c"]},
			"agentConnected == true":                                                                {byZone["zone-a"], byZone["zone-b"], byZone["zone-c"]},
			"attribute:ecs.instance-type =~ c5.*":                                                   {},
		} {
			out, err := e.ecs.ListContainerInstances(context.Background(), &ecs.ListContainerInstancesInput{Cluster: aws.String(e.cluster), Filter: aws.String(expr)})
			if err != nil {
				t.Fatalf("%s: %v", expr, err)
			}
			got := out.ContainerInstanceArns
			slices.Sort(got)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("filter %q = %v, want %v", expr, got, want)
			}
		}
	})
}

func wantFailures(t *testing.T, out *ecs.RunTaskOutput, reason string, instances map[string]string) {
	t.Helper()
	if len(out.Tasks) != 0 || len(out.Failures) != len(instances) {
		t.Fatalf("placed %d, failures %s; want one %s failure per instance", len(out.Tasks), failures(out.Failures), reason)
	}
	for _, f := range out.Failures {
		if _, ok := instances[aws.ToString(f.Arn)]; !ok || aws.ToString(f.Reason) != reason {
			t.Errorf("failure %s %s, want %s for a cluster instance", aws.ToString(f.Arn), aws.ToString(f.Reason), reason)
		}
	}
}

func wantInvalid(t *testing.T, err error, field string) {
	t.Helper()
	var api smithy.APIError
	if !errors.As(err, &api) || api.ErrorCode() != "InvalidParameterException" || !strings.Contains(api.ErrorMessage(), field) {
		t.Errorf("got %v, want InvalidParameterException naming %s", err, field)
	}
}
