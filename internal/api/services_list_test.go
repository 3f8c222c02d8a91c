package api_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/google/go-cmp/cmp"
)

func TestListServices(t *testing.T) {
	t.Parallel()
	_, c := startWithStore(t)
	serviceFixture(t, c, "list")
	ctx := context.Background()
	var ec2, fargate, daemon []string
	for i := range 12 {
		name := fmt.Sprintf("svc-%02d", i)
		in := &ecs.CreateServiceInput{Cluster: aws.String("list"), ServiceName: aws.String(name), TaskDefinition: aws.String("list-web"), DesiredCount: aws.Int32(1)}
		switch i % 3 {
		case 1:
			in.TaskDefinition = aws.String("list-api")
			in.CapacityProviderStrategy = []types.CapacityProviderStrategyItem{{CapacityProvider: aws.String("FARGATE"), Weight: 1}}
			in.NetworkConfiguration = &types.NetworkConfiguration{AwsvpcConfiguration: &types.AwsVpcConfiguration{Subnets: []string{"s"}}}
			fargate = append(fargate, serviceARN("list", name))
		case 2:
			in.SchedulingStrategy, in.DesiredCount = types.SchedulingStrategyDaemon, nil
			daemon = append(daemon, serviceARN("list", name))
			ec2 = append(ec2, serviceARN("list", name))
		default:
			ec2 = append(ec2, serviceARN("list", name))
		}
		mustCreateService(t, c, in)
	}
	all := slices.Sorted(slices.Values(append(slices.Clone(ec2), fargate...)))

	var got []string
	pages := 0
	in := &ecs.ListServicesInput{Cluster: aws.String("list")}
	for p := ecs.NewListServicesPaginator(c, in); p.HasMorePages(); pages++ {
		out, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, out.ServiceArns...)
	}
	if !slices.Equal(got, all) || pages != 2 {
		t.Errorf("paged %d times through %v, want 2 pages (10 a page by default) of %v", pages, got, all)
	}
	for _, tt := range []struct {
		name string
		in   ecs.ListServicesInput
		want []string
	}{
		{"EC2", ecs.ListServicesInput{LaunchType: types.LaunchTypeEc2, MaxResults: aws.Int32(100)}, ec2},
		{"FARGATE", ecs.ListServicesInput{LaunchType: types.LaunchTypeFargate}, fargate},
		{"DAEMON", ecs.ListServicesInput{SchedulingStrategy: types.SchedulingStrategyDaemon}, daemon},
	} {
		tt.in.Cluster = aws.String("list")
		out, err := c.ListServices(ctx, &tt.in)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(out.ServiceArns, tt.want) {
			t.Errorf("%s: %v, want %v", tt.name, out.ServiceArns, tt.want)
		}
	}
	_, err := c.ListServices(ctx, &ecs.ListServicesInput{Cluster: aws.String("list"), MaxResults: aws.Int32(101)})
	wantAPIError(t, err, "InvalidParameterException", "maxResults")
	_, err = c.ListServices(ctx, &ecs.ListServicesInput{Cluster: aws.String("list"), NextToken: aws.String("bogus")})
	wantAPIError(t, err, "InvalidParameterException", "nextToken")
	_, err = c.ListServices(ctx, &ecs.ListServicesInput{Cluster: aws.String("nope")})
	wantAPIError(t, err, "ClusterNotFoundException")
}

func TestServiceDeploymentHistory(t *testing.T) {
	t.Parallel()
	_, c := startWithStore(t)
	serviceFixture(t, c, "hist")
	ctx := context.Background()
	first := mustCreateService(t, c, &ecs.CreateServiceInput{
		Cluster: aws.String("hist"), ServiceName: aws.String("web"), TaskDefinition: aws.String("hist-web"), DesiredCount: aws.Int32(1),
	})
	arns := []string{aws.ToString(first.CurrentServiceDeployment)}
	for range 2 {
		time.Sleep(5 * time.Millisecond) // distinct creation times, at the wire's millisecond precision
		out, err := c.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String("hist"), Service: aws.String("web"), ForceNewDeployment: true})
		if err != nil {
			t.Fatal(err)
		}
		arns = append([]string{aws.ToString(out.Service.CurrentServiceDeployment)}, arns...)
	}

	list := func(in ecs.ListServiceDeploymentsInput) []types.ServiceDeploymentBrief {
		t.Helper()
		in.Cluster, in.Service = aws.String("hist"), aws.String("web")
		var all []types.ServiceDeploymentBrief
		for {
			out, err := c.ListServiceDeployments(ctx, &in)
			if err != nil {
				t.Fatal(err)
			}
			all = append(all, out.ServiceDeployments...)
			if out.NextToken == nil {
				return all
			}
			in.NextToken = out.NextToken
		}
	}
	arnsOf := func(b []types.ServiceDeploymentBrief) []string {
		var out []string
		for _, d := range b {
			out = append(out, aws.ToString(d.ServiceDeploymentArn))
		}
		return out
	}

	all := list(ecs.ListServiceDeploymentsInput{MaxResults: aws.Int32(1)})
	if got := arnsOf(all); !slices.Equal(got, arns) {
		t.Fatalf("deployments one a page = %v, want newest first %v", got, arns)
	}
	if all[0].Status != types.ServiceDeploymentStatusInProgress || all[1].Status != types.ServiceDeploymentStatusStopped ||
		aws.ToString(all[0].ServiceArn) != serviceARN("hist", "web") || aws.ToString(all[0].ClusterArn) != clusterARN("hist") ||
		!strings.HasPrefix(aws.ToString(all[0].TargetServiceRevisionArn), arnPrefix+"service-revision/hist/web/") ||
		all[0].CreatedAt == nil || all[0].StartedAt == nil || all[1].FinishedAt == nil || aws.ToString(all[1].StatusReason) == "" {
		t.Errorf("briefs = %+v", all)
	}
	if got := arnsOf(list(ecs.ListServiceDeploymentsInput{Status: []types.ServiceDeploymentStatus{types.ServiceDeploymentStatusStopped}})); !slices.Equal(got, arns[1:]) {
		t.Errorf("STOPPED = %v, want %v", got, arns[1:])
	}
	after := all[1].CreatedAt.Add(-time.Millisecond)
	if got := arnsOf(list(ecs.ListServiceDeploymentsInput{CreatedAt: &types.CreatedAt{After: &after}})); !slices.Equal(got, arns[:2]) {
		t.Errorf("created after the second = %v, want %v", got, arns[:2])
	}

	d, err := c.DescribeServiceDeployments(ctx, &ecs.DescribeServiceDeploymentsInput{
		ServiceDeploymentArns: []string{arns[2], arnPrefix + "service-deployment/hist/web/123", "nonsense"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(d.ServiceDeployments) != 1 || aws.ToString(d.ServiceDeployments[0].ServiceDeploymentArn) != arns[2] {
		t.Errorf("described %+v, want %s", d.ServiceDeployments, arns[2])
	}
	wantFailures := []types.Failure{
		{Arn: aws.String(arnPrefix + "service-deployment/hist/web/123"), Reason: aws.String("MISSING")},
		{Arn: aws.String("nonsense"), Reason: aws.String("MISSING")},
	}
	if diff := cmp.Diff(wantFailures, d.Failures, ignoreUnexported); diff != "" {
		t.Errorf("failures (-want +got):\n%s", diff)
	}

	_, err = c.DescribeServiceDeployments(ctx, &ecs.DescribeServiceDeploymentsInput{ServiceDeploymentArns: slices.Repeat([]string{arns[0]}, 21)})
	wantAPIError(t, err, "InvalidParameterException", "serviceDeploymentArns")
	_, err = c.ListServiceDeployments(ctx, &ecs.ListServiceDeploymentsInput{Cluster: aws.String("hist"), Service: aws.String("nope")})
	wantAPIError(t, err, "ServiceNotFoundException", "Service not found.")
	_, err = c.ListServiceDeployments(ctx, &ecs.ListServiceDeploymentsInput{Cluster: aws.String("hist"), Service: aws.String("web"), Status: []types.ServiceDeploymentStatus{"DONE"}})
	wantAPIError(t, err, "InvalidParameterException", "status[0]")
}

func TestServiceTags(t *testing.T) {
	t.Parallel()
	_, c := startWithStore(t)
	serviceFixture(t, c, "tagged")
	ctx := context.Background()
	s := mustCreateService(t, c, &ecs.CreateServiceInput{
		Cluster: aws.String("tagged"), ServiceName: aws.String("web"), TaskDefinition: aws.String("tagged-web"), DesiredCount: aws.Int32(0),
		Tags: []types.Tag{{Key: aws.String("a"), Value: aws.String("1")}},
	})
	arn := s.ServiceArn
	if _, err := c.TagResource(ctx, &ecs.TagResourceInput{ResourceArn: arn, Tags: []types.Tag{{Key: aws.String("b"), Value: aws.String("2")}, {Key: aws.String("a"), Value: aws.String("3")}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.UntagResource(ctx, &ecs.UntagResourceInput{ResourceArn: arn, TagKeys: []string{"b"}}); err != nil {
		t.Fatal(err)
	}
	out, err := c.ListTagsForResource(ctx, &ecs.ListTagsForResourceInput{ResourceArn: arn})
	if err != nil {
		t.Fatal(err)
	}
	want := []types.Tag{{Key: aws.String("a"), Value: aws.String("3")}}
	if diff := cmp.Diff(want, out.Tags, ignoreUnexported); diff != "" {
		t.Errorf("tags (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want, describeService(t, c, "tagged", "web", types.ServiceFieldTags).Tags, ignoreUnexported); diff != "" {
		t.Errorf("described tags (-want +got):\n%s", diff)
	}
	_, err = c.ListTagsForResource(ctx, &ecs.ListTagsForResourceInput{ResourceArn: aws.String(serviceARN("tagged", "nope"))})
	wantAPIError(t, err, "ResourceNotFoundException")
}
