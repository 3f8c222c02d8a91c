package api_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/google/go-cmp/cmp"

	wire "github.com/gantry-dev/gantry/internal/ecs"
	"github.com/gantry-dev/gantry/internal/store"
)

func attr(name, value, targetID string) types.Attribute {
	a := types.Attribute{Name: aws.String(name), TargetId: aws.String(targetID)}
	if value != "" {
		a.Value = aws.String(value)
	}
	return a
}

// instanceAttributes is an instance's attributes as DescribeContainerInstances
// shows them, name=value, sorted.
func instanceAttributes(t *testing.T, c *ecs.Client, cluster, id string) []string {
	t.Helper()
	var out []string
	for _, a := range describeOne(t, c, cluster, id).Attributes {
		out = append(out, aws.ToString(a.Name)+"="+aws.ToString(a.Value))
	}
	slices.Sort(out)
	return out
}

func TestPutAndDeleteAttributes(t *testing.T) {
	t.Parallel()
	st, c := startWithStore(t)
	ctx := context.Background()
	mustCreateCluster(t, c, &ecs.CreateClusterInput{ClusterName: aws.String("attrs")})
	host := putInstance(t, st, "attrs", nil)
	peer := putInstance(t, st, "attrs", nil)
	builtins := instanceAttributes(t, c, "attrs", host.ID)

	put := func(attrs ...types.Attribute) (*ecs.PutAttributesOutput, error) {
		return c.PutAttributes(ctx, &ecs.PutAttributesInput{Cluster: aws.String("attrs"), Attributes: attrs})
	}

	t.Run("by ARN, and by ID with targetType", func(t *testing.T) {
		byID := attr("rack", "r1", host.ID)
		byID.TargetType = types.TargetTypeContainerInstance
		in := []types.Attribute{attr("stack", "prod", host.Instance.ContainerInstanceArn), byID, attr("gpu-free", "", host.Instance.ContainerInstanceArn)}
		out, err := put(in...)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(in, out.Attributes, ignoreUnexported); diff != "" {
			t.Errorf("answered attributes (-want +got):\n%s", diff)
		}
		want := slices.Concat(builtins, []string{"gpu-free=", "rack=r1", "stack=prod"})
		slices.Sort(want)
		if diff := cmp.Diff(want, instanceAttributes(t, c, "attrs", host.ID)); diff != "" {
			t.Errorf("attributes (-want +got):\n%s", diff)
		}
		if got := describeOne(t, c, "attrs", host.ID); got.Version != host.Instance.Version+1 {
			t.Errorf("version = %d, want one more than %d for one request", got.Version, host.Instance.Version)
		}
	})

	t.Run("replaces a value", func(t *testing.T) {
		if _, err := put(attr("stack", "staging", host.Instance.ContainerInstanceArn)); err != nil {
			t.Fatal(err)
		}
		if got := instanceAttributes(t, c, "attrs", host.ID); !slices.Contains(got, "stack=staging") || slices.Contains(got, "stack=prod") {
			t.Errorf("attributes = %v", got)
		}
	})

	t.Run("ten custom attributes at most", func(t *testing.T) {
		// Three are set; seven more fit, the built-in ones not counting.
		var seven []types.Attribute
		for i := range 7 {
			seven = append(seven, attr(fmt.Sprintf("k%d", i), "v", host.Instance.ContainerInstanceArn))
		}
		if _, err := put(seven...); err != nil {
			t.Fatal(err)
		}
		before := instanceAttributes(t, c, "attrs", host.ID)
		// The eleventh is refused, and the whole request with it: the peer
		// named in the same call is left unchanged too.
		_, err := put(attr("ok", "1", peer.Instance.ContainerInstanceArn), attr("eleventh", "x", host.Instance.ContainerInstanceArn))
		wantAPIError(t, err, "AttributeLimitExceededException", "10")
		if diff := cmp.Diff(before, instanceAttributes(t, c, "attrs", host.ID)); diff != "" {
			t.Errorf("refused put changed the instance (-before +after):\n%s", diff)
		}
		if got := instanceAttributes(t, c, "attrs", peer.ID); slices.Contains(got, "ok=1") {
			t.Errorf("refused put changed the peer: %v", got)
		}
		// Replacing an existing one is still fine at the limit.
		if _, err := put(attr("k0", "w", host.Instance.ContainerInstanceArn)); err != nil {
			t.Errorf("replacing at the limit: %v", err)
		}
	})

	t.Run("delete by name", func(t *testing.T) {
		in := []types.Attribute{attr("k0", "", host.Instance.ContainerInstanceArn), attr("never-set", "", host.Instance.ContainerInstanceArn)}
		byID := attr("k1", "", host.ID)
		byID.TargetType = types.TargetTypeContainerInstance
		in = append(in, byID)
		out, err := c.DeleteAttributes(ctx, &ecs.DeleteAttributesInput{Cluster: aws.String("attrs"), Attributes: in})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(in, out.Attributes, ignoreUnexported); diff != "" {
			t.Errorf("answered attributes (-want +got):\n%s", diff)
		}
		got := instanceAttributes(t, c, "attrs", host.ID)
		if slices.Contains(got, "k0=w") || slices.Contains(got, "k1=v") || !slices.Contains(got, "k2=v") {
			t.Errorf("attributes after delete = %v", got)
		}
		// Room again for one more.
		if _, err := put(attr("eleventh", "x", host.Instance.ContainerInstanceArn)); err != nil {
			t.Errorf("put after delete: %v", err)
		}
	})

	t.Run("validation", func(t *testing.T) {
		arn := host.Instance.ContainerInstanceArn
		long := strings.Repeat("a", 129)
		bareID := attr("x", "y", host.ID)
		wrongType := attr("x", "y", host.ID)
		wrongType.TargetType = "task"
		tests := []struct {
			name  string
			attrs []types.Attribute
			code  string
			msg   string
		}{
			{"no attributes", []types.Attribute{}, "InvalidParameterException", "attributes"},
			{"eleven in one call", slices.Repeat([]types.Attribute{attr("x", "y", arn)}, 11), "InvalidParameterException", "10"},
			{"name with a space", []types.Attribute{attr("a b", "y", arn)}, "InvalidParameterException", "name"},
			{"name too long", []types.Attribute{attr(long, "y", arn)}, "InvalidParameterException", "name"},
			{"value too long", []types.Attribute{attr("x", long, arn)}, "InvalidParameterException", "value"},
			{"value with a leading space", []types.Attribute{attr("x", " y", arn)}, "InvalidParameterException", "value"},
			{"value with a bad character", []types.Attribute{attr("x", "a=b", arn)}, "InvalidParameterException", "value"},
			{"built-in name", []types.Attribute{attr("ecs.os-type", "windows", arn)}, "InvalidParameterException", "ecs."},
			{"capability name", []types.Attribute{attr("com.amazonaws.ecs.capability.privileged-container", "", arn)}, "InvalidParameterException", "agent"},
			{"ID without targetType", []types.Attribute{bareID}, "InvalidParameterException", "targetType"},
			{"wrong targetType", []types.Attribute{wrongType}, "InvalidParameterException", "targetType"},
			{"no target", []types.Attribute{{Name: aws.String("x")}}, "InvalidParameterException", "targetId"},
			{"unknown instance", []types.Attribute{attr("x", "y", instanceARN("attrs", wire.NewID()))}, "TargetNotFoundException", "not found"},
			{"another cluster's instance", []types.Attribute{attr("x", "y", instanceARN("default", host.ID))}, "TargetNotFoundException", "not found"},
			{"not an instance ARN", []types.Attribute{attr("x", "y", clusterARN("attrs"))}, "TargetNotFoundException", "not found"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				_, err := put(tt.attrs...)
				wantAPIError(t, err, tt.code, tt.msg)
			})
		}
		_, err := c.PutAttributes(ctx, &ecs.PutAttributesInput{Cluster: aws.String("nope"), Attributes: []types.Attribute{attr("x", "y", arn)}})
		wantAPIError(t, err, "ClusterNotFoundException")
		_, err = c.DeleteAttributes(ctx, &ecs.DeleteAttributesInput{Cluster: aws.String("attrs"), Attributes: []types.Attribute{attr("ecs.os-type", "", arn)}})
		wantAPIError(t, err, "InvalidParameterException", "ecs.")
	})

	t.Run("deregistered instances are not targets", func(t *testing.T) {
		gone := putInstance(t, st, "attrs", func(r *store.InstanceRecord) { r.Instance.Status = "INACTIVE" })
		_, err := put(attr("x", "y", gone.Instance.ContainerInstanceArn))
		wantAPIError(t, err, "TargetNotFoundException")
	})
}

// Concurrent puts on one instance neither lose an attribute nor pass the
// limit: each put commits against the revision it read.
func TestPutAttributesConcurrently(t *testing.T) {
	t.Parallel()
	st, c := startWithStore(t)
	mustCreateCluster(t, c, &ecs.CreateClusterInput{ClusterName: aws.String("race")})
	host := putInstance(t, st, "race", nil)
	var wg sync.WaitGroup
	errs := make([]error, 20)
	for i := range errs {
		wg.Go(func() {
			_, errs[i] = c.PutAttributes(context.Background(), &ecs.PutAttributesInput{
				Cluster:    aws.String("race"),
				Attributes: []types.Attribute{attr(fmt.Sprintf("n%02d", i), "v", host.Instance.ContainerInstanceArn)},
			})
		})
	}
	wg.Wait()
	var ok []string
	for i, err := range errs {
		if err == nil {
			ok = append(ok, fmt.Sprintf("n%02d=v", i))
			continue
		}
		wantAPIError(t, err, "AttributeLimitExceededException")
	}
	if len(ok) != 10 {
		t.Errorf("%d puts succeeded, want exactly 10", len(ok))
	}
	var custom []string
	for _, a := range instanceAttributes(t, c, "race", host.ID) {
		if !strings.HasPrefix(a, "ecs.") && !strings.HasPrefix(a, "com.amazonaws.ecs.") {
			custom = append(custom, a)
		}
	}
	if diff := cmp.Diff(ok, custom); diff != "" {
		t.Errorf("stored custom attributes (-succeeded +stored):\n%s", diff)
	}
}

func TestListAttributes(t *testing.T) {
	t.Parallel()
	st, c := startWithStore(t)
	ctx := context.Background()
	mustCreateCluster(t, c, &ecs.CreateClusterInput{ClusterName: aws.String("la")})
	mustCreateCluster(t, c, &ecs.CreateClusterInput{ClusterName: aws.String("la-2")})
	var hosts []*store.InstanceRecord
	for i := range 3 {
		hosts = append(hosts, putInstance(t, st, "la", func(r *store.InstanceRecord) {
			r.Instance.Attributes = []wire.Attribute{
				{Name: "ecs.os-type", Value: "linux"},
				{Name: "stack", Value: []string{"prod", "dev", "prod"}[i]},
				{Name: "zone", Value: "z"},
			}
		}))
	}
	putInstance(t, st, "la", func(r *store.InstanceRecord) { r.Instance.Status = "INACTIVE" })
	putInstance(t, st, "la-2", nil)
	slices.SortFunc(hosts, func(a, b *store.InstanceRecord) int { return strings.Compare(a.ID, b.ID) })

	entry := func(h *store.InstanceRecord, name, value string) types.Attribute {
		return attr(name, value, h.Instance.ContainerInstanceArn)
	}
	list := func(t *testing.T, in ecs.ListAttributesInput) []types.Attribute {
		t.Helper()
		in.Cluster = aws.String("la")
		in.TargetType = types.TargetTypeContainerInstance
		var got []types.Attribute
		pages := ecs.NewListAttributesPaginator(c, &in)
		for pages.HasMorePages() {
			out, err := pages.NextPage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if in.MaxResults != nil && len(out.Attributes) > int(*in.MaxResults) {
				t.Fatalf("page of %d, maxResults %d", len(out.Attributes), *in.MaxResults)
			}
			got = append(got, out.Attributes...)
		}
		return got
	}

	var every []types.Attribute
	for _, h := range hosts {
		every = append(every, entry(h, "ecs.os-type", "linux"), entry(h, "stack", h.Instance.Attributes[1].Value), entry(h, "zone", "z"))
	}
	var prod []types.Attribute // the hosts whose stack is prod, in ID order
	for _, h := range hosts {
		if h.Instance.Attributes[1].Value == "prod" {
			prod = append(prod, entry(h, "stack", "prod"))
		}
	}
	tests := []struct {
		name string
		in   ecs.ListAttributesInput
		want []types.Attribute
	}{
		{"every attribute of every instance", ecs.ListAttributesInput{}, every},
		{"paged by two", ecs.ListAttributesInput{MaxResults: aws.Int32(2)}, every},
		{"by name", ecs.ListAttributesInput{AttributeName: aws.String("stack"), MaxResults: aws.Int32(1)}, []types.Attribute{every[1], every[4], every[7]}},
		{"by name and value", ecs.ListAttributesInput{AttributeName: aws.String("stack"), AttributeValue: aws.String("prod")}, prod},
		{"built-in by name and value", ecs.ListAttributesInput{AttributeName: aws.String("ecs.os-type"), AttributeValue: aws.String("linux")}, []types.Attribute{every[0], every[3], every[6]}},
		{"no match", ecs.ListAttributesInput{AttributeName: aws.String("nothing")}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, list(t, tt.in), ignoreUnexported); diff != "" {
				t.Errorf("attributes (-want +got):\n%s", diff)
			}
		})
	}

	t.Run("errors", func(t *testing.T) {
		_, err := c.ListAttributes(ctx, &ecs.ListAttributesInput{Cluster: aws.String("la"), TargetType: "task"})
		wantAPIError(t, err, "InvalidParameterException", "targetType")
		_, err = c.ListAttributes(ctx, &ecs.ListAttributesInput{Cluster: aws.String("la"), TargetType: types.TargetTypeContainerInstance, AttributeValue: aws.String("prod")})
		wantAPIError(t, err, "InvalidParameterException", "attributeName")
		_, err = c.ListAttributes(ctx, &ecs.ListAttributesInput{Cluster: aws.String("nope"), TargetType: types.TargetTypeContainerInstance})
		wantAPIError(t, err, "ClusterNotFoundException")
		first, err := c.ListAttributes(ctx, &ecs.ListAttributesInput{Cluster: aws.String("la"), TargetType: types.TargetTypeContainerInstance, MaxResults: aws.Int32(1)})
		if err != nil || first.NextToken == nil {
			t.Fatalf("first page: %v, token %v", err, first.NextToken)
		}
		_, err = c.ListAttributes(ctx, &ecs.ListAttributesInput{Cluster: aws.String("la-2"), TargetType: types.TargetTypeContainerInstance, NextToken: first.NextToken})
		wantAPIError(t, err, "InvalidParameterException", "nextToken")
		_, err = c.ListContainerInstances(ctx, &ecs.ListContainerInstancesInput{Cluster: aws.String("la"), NextToken: first.NextToken})
		wantAPIError(t, err, "InvalidParameterException", "nextToken")
	})
}
