package api_test

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/google/go-cmp/cmp"
)

func TestRegisterTaskDefinition(t *testing.T) {
	t.Parallel()
	_, c := startECS(t)
	ctx := context.Background()

	t.Run("revisions count up per family", func(t *testing.T) {
		var got []string
		for _, family := range []string{"web", "web", "worker", "web", "worker"} {
			before := time.Now()
			td := mustRegister(t, c, simpleTaskDef(family))
			got = append(got, aws.ToString(td.TaskDefinitionArn))
			if td.Status != types.TaskDefinitionStatusActive {
				t.Errorf("%s status = %s, want ACTIVE", aws.ToString(td.TaskDefinitionArn), td.Status)
			}
			if at := aws.ToTime(td.RegisteredAt); at.Before(before.Add(-2*time.Second)) || at.After(time.Now().Add(2*time.Second)) {
				t.Errorf("registeredAt = %v, want about %v", at, before)
			}
			if want := "arn:aws:iam::000000000000:user/default"; aws.ToString(td.RegisteredBy) != want {
				t.Errorf("registeredBy = %q, want %q", aws.ToString(td.RegisteredBy), want)
			}
		}
		want := []string{taskDefARN("web:1"), taskDefARN("web:2"), taskDefARN("worker:1"), taskDefARN("web:3"), taskDefARN("worker:2")}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("ARNs (-want +got):\n%s", diff)
		}
	})

	t.Run("tags are returned", func(t *testing.T) {
		in := simpleTaskDef("tagged")
		in.Tags = []types.Tag{{Key: aws.String("team"), Value: aws.String("core")}}
		out, err := c.RegisterTaskDefinition(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(in.Tags, out.Tags, ignoreUnexported); diff != "" {
			t.Errorf("tags (-want +got):\n%s", diff)
		}
	})

	fargate := func(cpu, memory string) *ecs.RegisterTaskDefinitionInput {
		in := simpleTaskDef("fg")
		in.RequiresCompatibilities = []types.Compatibility{types.CompatibilityFargate}
		in.NetworkMode = types.NetworkModeAwsvpc
		in.Cpu, in.Memory = aws.String(cpu), aws.String(memory)
		return in
	}
	modify := func(family string, fn func(*ecs.RegisterTaskDefinitionInput)) *ecs.RegisterTaskDefinitionInput {
		in := simpleTaskDef(family)
		fn(in)
		return in
	}
	invalid := []struct {
		name string
		in   *ecs.RegisterTaskDefinitionInput
		code string
		msg  string
	}{
		{"blank family", simpleTaskDef(""), "ClientException", "Family"},
		{"family with a space", simpleTaskDef("my family"), "ClientException", "Family"},
		{"family too long", simpleTaskDef(strings.Repeat("f", 256)), "ClientException", "Family"},
		{"no containers", modify("v1", func(in *ecs.RegisterTaskDefinitionInput) {
			in.ContainerDefinitions = []types.ContainerDefinition{}
		}), "ClientException", "Container list"},
		{"container without name", modify("v2", func(in *ecs.RegisterTaskDefinitionInput) {
			in.ContainerDefinitions[0].Name = nil
		}), "ClientException", "Container.name"},
		{"container without image", modify("v3", func(in *ecs.RegisterTaskDefinitionInput) {
			in.ContainerDefinitions[0].Image = nil
		}), "ClientException", "Container.image"},
		{"no memory anywhere", modify("v4", func(in *ecs.RegisterTaskDefinitionInput) {
			in.ContainerDefinitions[0].Memory = nil
		}), "ClientException", "'memory' or 'memoryReservation'"},
		{"unknown network mode", modify("v5", func(in *ecs.RegisterTaskDefinitionInput) {
			in.NetworkMode = "overlay"
		}), "InvalidParameterException", "networkMode"},
		{"mount of an undeclared volume", modify("v6", func(in *ecs.RegisterTaskDefinitionInput) {
			in.ContainerDefinitions[0].MountPoints = []types.MountPoint{{SourceVolume: aws.String("ghost"), ContainerPath: aws.String("/x")}}
		}), "ClientException", "ghost"},
		{"fargate without task cpu", fargate("", "512"), "ClientException", "'cpu'"},
		{"fargate size that does not exist", fargate("256", "4096"), "ClientException", "No Fargate configuration"},
		{"reserved tag prefix", modify("v7", func(in *ecs.RegisterTaskDefinitionInput) {
			in.Tags = []types.Tag{{Key: aws.String("aws:cloudformation:stack-name"), Value: aws.String("x")}}
		}), "InvalidParameterException", "aws:"},
		{"memberOf expression that does not parse", modify("v8", func(in *ecs.RegisterTaskDefinitionInput) {
			in.PlacementConstraints = []types.TaskDefinitionPlacementConstraint{{Type: types.TaskDefinitionPlacementConstraintTypeMemberOf, Expression: aws.String("attribute:ecs.instance-type in [t3.small")}}
		}), "ClientException", "placementConstraints[0].expression"},
	}
	for _, tc := range invalid {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.RegisterTaskDefinition(ctx, tc.in)
			wantAPIError(t, err, tc.code, tc.msg)
		})
	}
}

// TestTaskDefinitionSizeQuota: ECS refuses a task definition larger than
// its 64 KiB quota, so one that registers on Gantry must not fail on AWS
// for its size.
func TestTaskDefinitionSizeQuota(t *testing.T) {
	t.Parallel()
	_, c := startECS(t)
	in := simpleTaskDef("huge")
	in.ContainerDefinitions[0].Environment = []types.KeyValuePair{{Name: aws.String("BLOB"), Value: aws.String(strings.Repeat("x", 70<<10))}}
	_, err := c.RegisterTaskDefinition(context.Background(), in)
	wantAPIError(t, err, "ClientException")
}

// fullFargateDefinition uses every commonly set field of a Fargate task
// definition.
func fullFargateDefinition() *ecs.RegisterTaskDefinitionInput {
	return &ecs.RegisterTaskDefinitionInput{
		Family:                  aws.String("shop-api"),
		TaskRoleArn:             aws.String("arn:aws:iam::000000000000:role/shop-api-task"),
		ExecutionRoleArn:        aws.String("arn:aws:iam::000000000000:role/ecsTaskExecutionRole"),
		NetworkMode:             types.NetworkModeAwsvpc,
		RequiresCompatibilities: []types.Compatibility{types.CompatibilityFargate},
		Cpu:                     aws.String("1024"),
		Memory:                  aws.String("2048"),
		RuntimePlatform:         &types.RuntimePlatform{CpuArchitecture: types.CPUArchitectureArm64, OperatingSystemFamily: types.OSFamilyLinux},
		EphemeralStorage:        &types.EphemeralStorage{SizeInGiB: 40},
		Volumes:                 []types.Volume{{Name: aws.String("cache")}},
		Tags:                    []types.Tag{{Key: aws.String("app"), Value: aws.String("shop")}},
		ContainerDefinitions: []types.ContainerDefinition{
			{
				Name:              aws.String("api"),
				Image:             aws.String("ghcr.io/example/shop-api:2.4.1"),
				Cpu:               768,
				Memory:            aws.Int32(1536),
				MemoryReservation: aws.Int32(1024),
				Essential:         aws.Bool(true),
				EntryPoint:        []string{"/bin/shop"},
				Command:           []string{"serve", "--port", "8080"},
				WorkingDirectory:  aws.String("/srv"),
				User:              aws.String("1000:1000"),
				PortMappings: []types.PortMapping{{
					ContainerPort: aws.Int32(8080), HostPort: aws.Int32(8080), Protocol: types.TransportProtocolTcp,
					Name: aws.String("http"), AppProtocol: types.ApplicationProtocolHttp,
				}},
				Environment: []types.KeyValuePair{
					{Name: aws.String("LOG_LEVEL"), Value: aws.String("info")},
					{Name: aws.String("PORT"), Value: aws.String("8080")},
				},
				Secrets: []types.Secret{{
					Name: aws.String("DB_PASSWORD"), ValueFrom: aws.String("arn:aws:ssm:us-east-1:000000000000:parameter/shop/db-password"),
				}},
				MountPoints: []types.MountPoint{{SourceVolume: aws.String("cache"), ContainerPath: aws.String("/var/cache/shop"), ReadOnly: aws.Bool(false)}},
				LogConfiguration: &types.LogConfiguration{
					LogDriver: types.LogDriverAwslogs,
					Options: map[string]string{
						"awslogs-group": "/ecs/shop-api", "awslogs-region": "us-east-1", "awslogs-stream-prefix": "api",
					},
				},
				HealthCheck: &types.HealthCheck{
					Command:  []string{"CMD-SHELL", "wget -qO- http://localhost:8080/healthz || exit 1"},
					Interval: aws.Int32(15), Timeout: aws.Int32(3), Retries: aws.Int32(4), StartPeriod: aws.Int32(20),
				},
				DependsOn:              []types.ContainerDependency{{ContainerName: aws.String("migrate"), Condition: types.ContainerConditionSuccess}},
				DockerLabels:           map[string]string{"com.example.team": "shop"},
				Ulimits:                []types.Ulimit{{Name: types.UlimitNameNofile, SoftLimit: 65536, HardLimit: 65536}},
				ReadonlyRootFilesystem: aws.Bool(true),
				StopTimeout:            aws.Int32(30),
				LinuxParameters:        &types.LinuxParameters{InitProcessEnabled: aws.Bool(true)},
			},
			{
				Name:              aws.String("migrate"),
				Image:             aws.String("ghcr.io/example/shop-api:2.4.1"),
				Essential:         aws.Bool(false),
				MemoryReservation: aws.Int32(128),
				Command:           []string{"migrate", "up"},
			},
		},
	}
}

// setFieldsOnly compares only what the expected value sets: a zero field in
// want is not checked, since the server may fill in its defaults there.
var setFieldsOnly = cmp.FilterPath(func(p cmp.Path) bool {
	vx, _ := p.Last().Values()
	return vx.IsValid() && vx.IsZero() && vx.Kind() != reflect.Struct
}, cmp.Ignore())

func TestTaskDefinitionRoundTrip(t *testing.T) {
	t.Parallel()
	_, c := startECS(t)
	ctx := context.Background()
	in := fullFargateDefinition()
	reg, err := c.RegisterTaskDefinition(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	desc, err := c.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{
		TaskDefinition: aws.String("shop-api:1"), Include: []types.TaskDefinitionField{types.TaskDefinitionFieldTags},
	})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(reg.TaskDefinition, desc.TaskDefinition, ignoreUnexported); diff != "" {
		t.Errorf("Describe differs from Register (-register +describe):\n%s", diff)
	}
	want := &types.TaskDefinition{
		TaskDefinitionArn:       aws.String(taskDefARN("shop-api:1")),
		Family:                  in.Family,
		Revision:                1,
		Status:                  types.TaskDefinitionStatusActive,
		TaskRoleArn:             in.TaskRoleArn,
		ExecutionRoleArn:        in.ExecutionRoleArn,
		NetworkMode:             in.NetworkMode,
		RequiresCompatibilities: in.RequiresCompatibilities,
		Cpu:                     in.Cpu,
		Memory:                  in.Memory,
		RuntimePlatform:         in.RuntimePlatform,
		EphemeralStorage:        in.EphemeralStorage,
		Volumes:                 in.Volumes,
		ContainerDefinitions:    in.ContainerDefinitions,
	}
	got := desc.TaskDefinition
	if diff := cmp.Diff(want, got, ignoreUnexported, setFieldsOnly); diff != "" {
		t.Errorf("described task definition (-want +got):\n%s", diff)
	}
	// What ECS computes and fills in.
	if !containsAll(got.Compatibilities, types.CompatibilityEc2, types.CompatibilityFargate) {
		t.Errorf("compatibilities = %v, want EC2 and FARGATE among them", got.Compatibilities)
	}
	if len(got.RequiresAttributes) == 0 {
		t.Errorf("requiresAttributes is empty")
	}
	if got.PlacementConstraints == nil || got.ContainerDefinitions[1].PortMappings == nil {
		t.Errorf("empty lists are missing instead of []")
	}
	if diff := cmp.Diff(in.Tags, desc.Tags, ignoreUnexported); diff != "" {
		t.Errorf("tags (-want +got):\n%s", diff)
	}

	t.Run("units are normalised", func(t *testing.T) {
		in := fullFargateDefinition()
		in.Cpu, in.Memory = aws.String("1 vCPU"), aws.String("2GB")
		td := mustRegister(t, c, in)
		if aws.ToString(td.Cpu) != "1024" || aws.ToString(td.Memory) != "2048" {
			t.Errorf("cpu, memory = %q, %q; want 1024, 2048", aws.ToString(td.Cpu), aws.ToString(td.Memory))
		}
	})
}

func containsAll[T comparable](have []T, want ...T) bool {
	for _, w := range want {
		found := false
		for _, h := range have {
			found = found || h == w
		}
		if !found {
			return false
		}
	}
	return true
}

func TestDescribeTaskDefinition(t *testing.T) {
	t.Parallel()
	_, c := startECS(t)
	ctx := context.Background()
	for range 4 {
		in := simpleTaskDef("desc")
		in.Tags = []types.Tag{{Key: aws.String("k"), Value: aws.String("v")}}
		mustRegister(t, c, in)
	}
	mustDeregister(t, c, "desc:4") // the newest ACTIVE revision is now 3
	mustDeregister(t, c, "desc:2")
	mustRegister(t, c, simpleTaskDef("ghost"))
	mustDeregister(t, c, "ghost:1") // no ACTIVE revision left

	ok := []struct {
		name, ref string
		wantRev   int32
		status    types.TaskDefinitionStatus
	}{
		{"family is latest ACTIVE", "desc", 3, types.TaskDefinitionStatusActive},
		{"family:revision", "desc:1", 1, types.TaskDefinitionStatusActive},
		{"full ARN", taskDefARN("desc:3"), 3, types.TaskDefinitionStatusActive},
		{"deregistered by family:revision", "desc:4", 4, types.TaskDefinitionStatusInactive},
		{"deregistered by ARN", taskDefARN("desc:2"), 2, types.TaskDefinitionStatusInactive},
		{"inactive family by revision", "ghost:1", 1, types.TaskDefinitionStatusInactive},
	}
	for _, tc := range ok {
		t.Run(tc.name, func(t *testing.T) {
			out, err := c.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(tc.ref)})
			if err != nil {
				t.Fatal(err)
			}
			td := out.TaskDefinition
			if td.Revision != tc.wantRev || td.Status != tc.status {
				t.Errorf("got revision %d %s, want %d %s", td.Revision, td.Status, tc.wantRev, tc.status)
			}
			if len(out.Tags) != 0 {
				t.Errorf("tags without include TAGS: %+v", out.Tags)
			}
			if tc.status == types.TaskDefinitionStatusInactive && td.DeregisteredAt == nil {
				t.Errorf("an INACTIVE revision has no deregisteredAt")
			}
		})
	}

	t.Run("include TAGS", func(t *testing.T) {
		out, err := c.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{
			TaskDefinition: aws.String("desc"), Include: []types.TaskDefinitionField{types.TaskDefinitionFieldTags},
		})
		if err != nil {
			t.Fatal(err)
		}
		want := []types.Tag{{Key: aws.String("k"), Value: aws.String("v")}}
		if diff := cmp.Diff(want, out.Tags, ignoreUnexported); diff != "" {
			t.Errorf("tags (-want +got):\n%s", diff)
		}
	})

	bad := []struct {
		name, ref, code, msg string
		include              []types.TaskDefinitionField
	}{
		{"unknown family", "nothing", "ClientException", "Unable to describe task definition.", nil},
		{"unknown revision", "desc:99", "ClientException", "Unable to describe task definition.", nil},
		{"unknown ARN", taskDefARN("nothing:1"), "ClientException", "Unable to describe task definition.", nil},
		{"family without an ACTIVE revision", "ghost", "ClientException", "Unable to describe task definition.", nil},
		{"revision 0", "desc:0", "InvalidParameterException", "revision", nil},
		{"revision not a number", "desc:latest", "InvalidParameterException", "revision", nil},
		{"cluster ARN", clusterARN("desc"), "InvalidParameterException", "task definition", nil},
		{"invalid include", "desc", "InvalidParameterException", "include[0]", []types.TaskDefinitionField{"EVERYTHING"}},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(tc.ref), Include: tc.include})
			wantAPIError(t, err, tc.code, tc.msg)
		})
	}
}

func TestDeregisterTaskDefinition(t *testing.T) {
	t.Parallel()
	_, c := startECS(t)
	ctx := context.Background()
	mustRegister(t, c, simpleTaskDef("dereg"))
	mustRegister(t, c, simpleTaskDef("dereg"))

	for _, ref := range []string{"dereg:1", taskDefARN("dereg:2")} {
		t.Run(ref, func(t *testing.T) {
			before := time.Now()
			td := mustDeregister(t, c, ref)
			if td.Status != types.TaskDefinitionStatusInactive {
				t.Errorf("status = %s, want INACTIVE", td.Status)
			}
			if at := aws.ToTime(td.DeregisteredAt); at.Before(before.Add(-2*time.Second)) || at.After(time.Now().Add(2*time.Second)) {
				t.Errorf("deregisteredAt = %v, want about %v", at, before)
			}
			again := mustDeregister(t, c, ref)
			if !aws.ToTime(again.DeregisteredAt).Equal(aws.ToTime(td.DeregisteredAt)) {
				t.Errorf("deregistering again moved deregisteredAt from %v to %v", td.DeregisteredAt, again.DeregisteredAt)
			}
		})
	}

	bad := []struct{ name, ref, msg string }{
		{"family without revision", "dereg", "revision"},
		{"unknown revision", "dereg:7", "does not exist"},
		{"unknown family", "never:1", "does not exist"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.DeregisterTaskDefinition(ctx, &ecs.DeregisterTaskDefinitionInput{TaskDefinition: aws.String(tc.ref)})
			wantAPIError(t, err, "ClientException", tc.msg)
		})
	}
}

func TestDeleteTaskDefinitions(t *testing.T) {
	t.Parallel()
	_, c := startECS(t)
	ctx := context.Background()
	for range 3 {
		mustRegister(t, c, simpleTaskDef("del"))
	}
	mustDeregister(t, c, "del:2")
	mustDeregister(t, c, "del:3")

	before := time.Now()
	out, err := c.DeleteTaskDefinitions(ctx, &ecs.DeleteTaskDefinitionsInput{
		TaskDefinitions: []string{"del:1", "del:2", taskDefARN("del:3"), "del:9", "nosuch:1"},
	})
	if err != nil {
		t.Fatal(err)
	}
	var deleted []string
	for _, td := range out.TaskDefinitions {
		deleted = append(deleted, aws.ToString(td.TaskDefinitionArn))
		if td.Status != types.TaskDefinitionStatusDeleteInProgress {
			t.Errorf("%s status = %s, want DELETE_IN_PROGRESS", aws.ToString(td.TaskDefinitionArn), td.Status)
		}
		if at := aws.ToTime(td.DeleteRequestedAt); at.Before(before.Add(-2*time.Second)) || at.After(time.Now().Add(2*time.Second)) {
			t.Errorf("deleteRequestedAt = %v, want about %v", at, before)
		}
	}
	if diff := cmp.Diff([]string{taskDefARN("del:2"), taskDefARN("del:3")}, deleted); diff != "" {
		t.Errorf("deleted (-want +got):\n%s", diff)
	}
	failures := map[string]string{}
	for _, f := range out.Failures {
		failures[aws.ToString(f.Arn)] = aws.ToString(f.Reason)
	}
	if len(failures) != 3 {
		t.Errorf("failures = %v, want del:1, del:9 and nosuch:1", failures)
	}
	if r := failures["del:1"]; !strings.Contains(r, "still in ACTIVE status") {
		t.Errorf("failure for an ACTIVE revision = %q", r)
	}
	for _, ref := range []string{"del:9", "nosuch:1"} {
		if r := failures[ref]; !strings.Contains(r, "does not exist") {
			t.Errorf("failure for %s = %q", ref, r)
		}
	}

	t.Run("deleted revisions cannot be described", func(t *testing.T) {
		for _, ref := range []string{"del:2", taskDefARN("del:3")} {
			_, err := c.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(ref)})
			wantAPIError(t, err, "ClientException", "Unable to describe task definition.")
		}
	})
	t.Run("numbering continues", func(t *testing.T) {
		if td := mustRegister(t, c, simpleTaskDef("del")); td.Revision != 4 {
			t.Errorf("next revision = %d, want 4", td.Revision)
		}
	})
	t.Run("more than 10", func(t *testing.T) {
		refs := make([]string, 11)
		for i := range refs {
			refs[i] = fmt.Sprintf("del:%d", i+1)
		}
		_, err := c.DeleteTaskDefinitions(ctx, &ecs.DeleteTaskDefinitionsInput{TaskDefinitions: refs})
		wantAPIError(t, err, "InvalidParameterException", "10")
	})
	t.Run("none", func(t *testing.T) {
		_, err := c.DeleteTaskDefinitions(ctx, &ecs.DeleteTaskDefinitionsInput{TaskDefinitions: []string{}})
		wantAPIError(t, err, "InvalidParameterException")
	})
}

// TestRegisterConcurrently registers from many goroutines into a few
// families: every family must end with revisions 1..N, no gaps, no repeats.
func TestRegisterConcurrently(t *testing.T) {
	t.Parallel()
	_, c := startECS(t)
	ctx := context.Background()
	const goroutines, families, perFamily = 32, 4, 25

	jobs := make(chan string, families*perFamily)
	for i := range families * perFamily {
		jobs <- fmt.Sprintf("conc-%d", i%families)
	}
	close(jobs)
	var (
		mu   sync.Mutex
		arns = map[string]bool{}
		// registeredAt by family and revision
		registered = map[string]map[int32]time.Time{}
		wg         sync.WaitGroup
	)
	for range goroutines {
		wg.Go(func() {
			for family := range jobs {
				out, err := c.RegisterTaskDefinition(ctx, simpleTaskDef(family))
				if err != nil {
					t.Errorf("register %s: %v", family, err)
					continue
				}
				arn := aws.ToString(out.TaskDefinition.TaskDefinitionArn)
				mu.Lock()
				if arns[arn] {
					t.Errorf("%s returned twice", arn)
				}
				arns[arn] = true
				if registered[family] == nil {
					registered[family] = map[int32]time.Time{}
				}
				registered[family][out.TaskDefinition.Revision] = aws.ToTime(out.TaskDefinition.RegisteredAt)
				mu.Unlock()
			}
		})
	}
	wg.Wait()

	if len(arns) != families*perFamily {
		t.Errorf("%d distinct ARNs, want %d", len(arns), families*perFamily)
	}
	for f := range families {
		family := fmt.Sprintf("conc-%d", f)
		var want []string
		for rev := 1; rev <= perFamily; rev++ {
			want = append(want, taskDefARN(fmt.Sprintf("%s:%d", family, rev)))
			if !arns[want[len(want)-1]] {
				t.Errorf("no registration returned %s", want[len(want)-1])
			}
		}
		// Revisions are numbered in the order they were registered, so
		// their registration times must not run backwards.
		for rev := int32(2); rev <= perFamily; rev++ {
			if prev, cur := registered[family][rev-1], registered[family][rev]; cur.Before(prev) {
				t.Errorf("%s:%d registeredAt %v is before %s:%d's %v", family, rev, cur.Format(time.StampMicro), family, rev-1, prev.Format(time.StampMicro))
			}
		}
		out, err := c.ListTaskDefinitions(ctx, &ecs.ListTaskDefinitionsInput{FamilyPrefix: aws.String(family)})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, out.TaskDefinitionArns); diff != "" {
			t.Errorf("%s revisions (-want +got):\n%s", family, diff)
		}
	}
}
