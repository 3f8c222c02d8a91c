package api_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/google/go-cmp/cmp"
)

func TestCreateCluster(t *testing.T) {
	t.Parallel()
	_, c := startECS(t)
	ctx := context.Background()

	t.Run("default name", func(t *testing.T) {
		got := mustCreateCluster(t, c, &ecs.CreateClusterInput{})
		if aws.ToString(got.ClusterName) != "default" || aws.ToString(got.ClusterArn) != clusterARN("default") {
			t.Errorf("cluster = %s %s, want default %s", aws.ToString(got.ClusterName), aws.ToString(got.ClusterArn), clusterARN("default"))
		}
		if aws.ToString(got.Status) != "ACTIVE" {
			t.Errorf("status = %s, want ACTIVE", aws.ToString(got.Status))
		}
	})

	t.Run("idempotent on an active name", func(t *testing.T) {
		first := mustCreateCluster(t, c, &ecs.CreateClusterInput{
			ClusterName: aws.String("idem"),
			Tags:        []types.Tag{{Key: aws.String("team"), Value: aws.String("a")}},
		})
		// ECS answers a second create with the existing cluster, unchanged.
		second := mustCreateCluster(t, c, &ecs.CreateClusterInput{
			ClusterName: aws.String("idem"),
			Tags:        []types.Tag{{Key: aws.String("team"), Value: aws.String("b")}},
		})
		if diff := cmp.Diff(first, second, ignoreUnexported); diff != "" {
			t.Errorf("second create changed the cluster (-first +second):\n%s", diff)
		}
	})

	t.Run("recreate after delete", func(t *testing.T) {
		mustCreateCluster(t, c, &ecs.CreateClusterInput{ClusterName: aws.String("phoenix")})
		if _, err := c.DeleteCluster(ctx, &ecs.DeleteClusterInput{Cluster: aws.String("phoenix")}); err != nil {
			t.Fatal(err)
		}
		again := mustCreateCluster(t, c, &ecs.CreateClusterInput{ClusterName: aws.String("phoenix")})
		if aws.ToString(again.Status) != "ACTIVE" {
			t.Errorf("recreated status = %s, want ACTIVE", aws.ToString(again.Status))
		}
		d, err := c.DescribeClusters(ctx, &ecs.DescribeClustersInput{Clusters: []string{"phoenix"}})
		if err != nil {
			t.Fatal(err)
		}
		if len(d.Clusters) != 1 || aws.ToString(d.Clusters[0].Status) != "ACTIVE" {
			t.Errorf("DescribeClusters after recreate = %+v", d.Clusters)
		}
	})

	t.Run("settings and configuration are kept", func(t *testing.T) {
		got := mustCreateCluster(t, c, &ecs.CreateClusterInput{
			ClusterName: aws.String("insights"),
			Settings:    []types.ClusterSetting{{Name: types.ClusterSettingNameContainerInsights, Value: aws.String("enabled")}},
		})
		want := []types.ClusterSetting{{Name: types.ClusterSettingNameContainerInsights, Value: aws.String("enabled")}}
		if diff := cmp.Diff(want, got.Settings, ignoreUnexported); diff != "" {
			t.Errorf("settings (-want +got):\n%s", diff)
		}
	})

	t.Run("fargate capacity providers", func(t *testing.T) {
		got := mustCreateCluster(t, c, &ecs.CreateClusterInput{
			ClusterName:       aws.String("fargate"),
			CapacityProviders: []string{"FARGATE", "FARGATE_SPOT"},
			DefaultCapacityProviderStrategy: []types.CapacityProviderStrategyItem{
				{CapacityProvider: aws.String("FARGATE"), Weight: 1, Base: 1},
				{CapacityProvider: aws.String("FARGATE_SPOT"), Weight: 4},
			},
		})
		if diff := cmp.Diff([]string{"FARGATE", "FARGATE_SPOT"}, got.CapacityProviders); diff != "" {
			t.Errorf("capacityProviders (-want +got):\n%s", diff)
		}
		if len(got.DefaultCapacityProviderStrategy) != 2 {
			t.Errorf("defaultCapacityProviderStrategy = %+v", got.DefaultCapacityProviderStrategy)
		}
	})

	tag := func(k, v string) types.Tag { return types.Tag{Key: aws.String(k), Value: aws.String(v)} }
	manyTags := make([]types.Tag, 51)
	for i := range manyTags {
		manyTags[i] = tag(fmt.Sprintf("k%d", i), "v")
	}
	invalid := []struct {
		name    string
		in      ecs.CreateClusterInput
		wantMsg string
	}{
		{"space in name", ecs.CreateClusterInput{ClusterName: aws.String("bad name")}, "clusterName"},
		{"slash in name", ecs.CreateClusterInput{ClusterName: aws.String("a/b")}, "clusterName"},
		{"name too long", ecs.CreateClusterInput{ClusterName: aws.String(strings.Repeat("n", 256))}, "clusterName"},
		{"non-ASCII name", ecs.CreateClusterInput{ClusterName: aws.String("clüster")}, "clusterName"},
		{"aws: tag prefix", ecs.CreateClusterInput{ClusterName: aws.String("t1"), Tags: []types.Tag{tag("aws:owner", "x")}}, "aws:"},
		{"AWS: tag prefix", ecs.CreateClusterInput{ClusterName: aws.String("t2"), Tags: []types.Tag{tag("AWS:owner", "x")}}, "aws:"},
		{"empty tag key", ecs.CreateClusterInput{ClusterName: aws.String("t3"), Tags: []types.Tag{tag("", "x")}}, "tags[0].key"},
		{"tag key too long", ecs.CreateClusterInput{ClusterName: aws.String("t4"), Tags: []types.Tag{tag(strings.Repeat("k", 129), "x")}}, "tags[0].key"},
		{"tag value too long", ecs.CreateClusterInput{ClusterName: aws.String("t5"), Tags: []types.Tag{tag("k", strings.Repeat("v", 257))}}, "tags[0].value"},
		{"51 tags", ecs.CreateClusterInput{ClusterName: aws.String("t6"), Tags: manyTags}, "50"},
		{"unknown setting", ecs.CreateClusterInput{ClusterName: aws.String("s1"),
			Settings: []types.ClusterSetting{{Name: "fancyMode", Value: aws.String("enabled")}}}, "settings[0].name"},
		{"bad insights value", ecs.CreateClusterInput{ClusterName: aws.String("s2"),
			Settings: []types.ClusterSetting{{Name: types.ClusterSettingNameContainerInsights, Value: aws.String("sometimes")}}}, "settings[0].value"},
		{"unknown capacity provider", ecs.CreateClusterInput{ClusterName: aws.String("cp1"), CapacityProviders: []string{"my-asg-provider"}}, "my-asg-provider"},
		{"strategy names unassociated provider", ecs.CreateClusterInput{ClusterName: aws.String("cp2"), CapacityProviders: []string{"FARGATE"},
			DefaultCapacityProviderStrategy: []types.CapacityProviderStrategyItem{{CapacityProvider: aws.String("FARGATE_SPOT"), Weight: 1}}}, "FARGATE_SPOT"},
		{"strategy weight too high", ecs.CreateClusterInput{ClusterName: aws.String("cp3"), CapacityProviders: []string{"FARGATE"},
			DefaultCapacityProviderStrategy: []types.CapacityProviderStrategyItem{{CapacityProvider: aws.String("FARGATE"), Weight: 1001}}}, "weight"},
	}
	for _, tc := range invalid {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.CreateCluster(ctx, &tc.in)
			wantAPIError(t, err, "InvalidParameterException", tc.wantMsg)
		})
	}

	t.Run("refused clusters were not created", func(t *testing.T) {
		d, err := c.DescribeClusters(ctx, &ecs.DescribeClustersInput{Clusters: []string{"t1", "s1", "cp1"}})
		if err != nil {
			t.Fatal(err)
		}
		if len(d.Clusters) != 0 || len(d.Failures) != 3 {
			t.Errorf("got %d clusters and %d failures, want 0 and 3", len(d.Clusters), len(d.Failures))
		}
	})
}

func TestDescribeClusters(t *testing.T) {
	t.Parallel()
	_, c := startECS(t)
	ctx := context.Background()
	mustCreateCluster(t, c, &ecs.CreateClusterInput{})
	mustCreateCluster(t, c, &ecs.CreateClusterInput{
		ClusterName: aws.String("full"),
		Tags:        []types.Tag{{Key: aws.String("env"), Value: aws.String("test")}},
		Configuration: &types.ClusterConfiguration{
			ExecuteCommandConfiguration: &types.ExecuteCommandConfiguration{Logging: types.ExecuteCommandLoggingDefault},
		},
	})
	mustCreateCluster(t, c, &ecs.CreateClusterInput{ClusterName: aws.String("gone")})
	if _, err := c.DeleteCluster(ctx, &ecs.DeleteClusterInput{Cluster: aws.String("gone")}); err != nil {
		t.Fatal(err)
	}

	describe := func(t *testing.T, in *ecs.DescribeClustersInput) *ecs.DescribeClustersOutput {
		t.Helper()
		out, err := c.DescribeClusters(ctx, in)
		if err != nil {
			t.Fatalf("DescribeClusters: %v", err)
		}
		return out
	}

	t.Run("default cluster when none given", func(t *testing.T) {
		out := describe(t, &ecs.DescribeClustersInput{})
		if len(out.Clusters) != 1 || aws.ToString(out.Clusters[0].ClusterName) != "default" {
			t.Fatalf("clusters = %+v, want the default cluster", out.Clusters)
		}
		cl := out.Clusters[0]
		if aws.ToString(cl.Status) != "ACTIVE" || aws.ToString(cl.ClusterArn) != clusterARN("default") {
			t.Errorf("got %s %s", aws.ToString(cl.Status), aws.ToString(cl.ClusterArn))
		}
		if cl.RegisteredContainerInstancesCount != 0 || cl.RunningTasksCount != 0 || cl.PendingTasksCount != 0 || cl.ActiveServicesCount != 0 {
			t.Errorf("counts of an empty cluster are not zero: %+v", cl)
		}
	})

	t.Run("name and ARN both accepted", func(t *testing.T) {
		out := describe(t, &ecs.DescribeClustersInput{Clusters: []string{"full", clusterARN("default")}})
		var names []string
		for _, cl := range out.Clusters {
			names = append(names, aws.ToString(cl.ClusterName))
		}
		if diff := cmp.Diff([]string{"full", "default"}, names); diff != "" || len(out.Failures) != 0 {
			t.Errorf("names (-want +got):\n%s\nfailures: %+v", diff, out.Failures)
		}
	})

	t.Run("unknown and malformed are failures", func(t *testing.T) {
		badARN := arnPrefix + "service/full/web"
		out := describe(t, &ecs.DescribeClustersInput{Clusters: []string{"nope", clusterARN("nope2"), badARN, "full"}})
		var got [][2]string
		for _, f := range out.Failures {
			got = append(got, [2]string{aws.ToString(f.Arn), aws.ToString(f.Reason)})
		}
		want := [][2]string{{clusterARN("nope"), "MISSING"}, {clusterARN("nope2"), "MISSING"}, {badARN, "MISSING"}}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("failures (-want +got):\n%s", diff)
		}
		if len(out.Clusters) != 1 || aws.ToString(out.Clusters[0].ClusterName) != "full" {
			t.Errorf("clusters = %+v, want only full", out.Clusters)
		}
	})

	t.Run("inactive clusters are described", func(t *testing.T) {
		out := describe(t, &ecs.DescribeClustersInput{Clusters: []string{"gone"}})
		if len(out.Clusters) != 1 || aws.ToString(out.Clusters[0].Status) != "INACTIVE" {
			t.Errorf("clusters = %+v, want gone INACTIVE", out.Clusters)
		}
	})

	t.Run("without include", func(t *testing.T) {
		cl := describe(t, &ecs.DescribeClustersInput{Clusters: []string{"full"}}).Clusters[0]
		if len(cl.Tags) != 0 || len(cl.Statistics) != 0 || cl.Configuration != nil {
			t.Errorf("optional parts present without include: tags %+v statistics %+v configuration %+v", cl.Tags, cl.Statistics, cl.Configuration)
		}
	})

	t.Run("include TAGS", func(t *testing.T) {
		cl := describe(t, &ecs.DescribeClustersInput{Clusters: []string{"full"}, Include: []types.ClusterField{types.ClusterFieldTags}}).Clusters[0]
		want := []types.Tag{{Key: aws.String("env"), Value: aws.String("test")}}
		if diff := cmp.Diff(want, cl.Tags, ignoreUnexported); diff != "" {
			t.Errorf("tags (-want +got):\n%s", diff)
		}
	})

	t.Run("include SETTINGS", func(t *testing.T) {
		cl := describe(t, &ecs.DescribeClustersInput{Clusters: []string{"full"}, Include: []types.ClusterField{types.ClusterFieldSettings}}).Clusters[0]
		want := []types.ClusterSetting{{Name: types.ClusterSettingNameContainerInsights, Value: aws.String("disabled")}}
		if diff := cmp.Diff(want, cl.Settings, ignoreUnexported); diff != "" {
			t.Errorf("settings (-want +got):\n%s", diff)
		}
	})

	t.Run("include STATISTICS", func(t *testing.T) {
		cl := describe(t, &ecs.DescribeClustersInput{Clusters: []string{"full"}, Include: []types.ClusterField{types.ClusterFieldStatistics}}).Clusters[0]
		got := map[string]string{}
		for _, kv := range cl.Statistics {
			got[aws.ToString(kv.Name)] = aws.ToString(kv.Value)
		}
		want := map[string]string{}
		for _, k := range []string{
			"runningEC2TasksCount", "runningFargateTasksCount", "pendingEC2TasksCount", "pendingFargateTasksCount",
			"activeEC2ServiceCount", "activeFargateServiceCount", "drainingEC2ServiceCount", "drainingFargateServiceCount",
		} {
			want[k] = "0"
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("statistics (-want +got):\n%s", diff)
		}
	})

	t.Run("include CONFIGURATIONS", func(t *testing.T) {
		cl := describe(t, &ecs.DescribeClustersInput{Clusters: []string{"full"}, Include: []types.ClusterField{types.ClusterFieldConfigurations}}).Clusters[0]
		if cl.Configuration == nil || cl.Configuration.ExecuteCommandConfiguration == nil ||
			cl.Configuration.ExecuteCommandConfiguration.Logging != types.ExecuteCommandLoggingDefault {
			t.Errorf("configuration = %+v, want executeCommandConfiguration.logging DEFAULT", cl.Configuration)
		}
	})

	t.Run("invalid include", func(t *testing.T) {
		_, err := c.DescribeClusters(ctx, &ecs.DescribeClustersInput{Include: []types.ClusterField{"EVERYTHING"}})
		wantAPIError(t, err, "InvalidParameterException", "include[0]", "EVERYTHING")
	})

	t.Run("more than 100", func(t *testing.T) {
		names := make([]string, 101)
		for i := range names {
			names[i] = fmt.Sprintf("c%d", i)
		}
		_, err := c.DescribeClusters(ctx, &ecs.DescribeClustersInput{Clusters: names})
		wantAPIError(t, err, "InvalidParameterException", "100")
	})
}

func TestListClusters(t *testing.T) {
	t.Parallel()
	_, c := startECS(t)
	ctx := context.Background()
	var want []string
	for i := range 25 {
		name := fmt.Sprintf("list-%02d", i)
		mustCreateCluster(t, c, &ecs.CreateClusterInput{ClusterName: aws.String(name)})
		want = append(want, clusterARN(name))
	}
	// Inactive clusters are not listed.
	for _, name := range []string{"list-gone-a", "list-gone-b"} {
		mustCreateCluster(t, c, &ecs.CreateClusterInput{ClusterName: aws.String(name)})
		if _, err := c.DeleteCluster(ctx, &ecs.DeleteClusterInput{Cluster: aws.String(name)}); err != nil {
			t.Fatal(err)
		}
	}

	for _, max := range []int32{0, 1, 7, 24, 25, 100} { // 0: no maxResults
		t.Run(fmt.Sprintf("maxResults=%d", max), func(t *testing.T) {
			in := &ecs.ListClustersInput{}
			if max > 0 {
				in.MaxResults = aws.Int32(max)
			}
			var got []string
			pages := 0
			for p := ecs.NewListClustersPaginator(c, in); p.HasMorePages(); {
				out, err := p.NextPage(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if max > 0 && len(out.ClusterArns) > int(max) {
					t.Errorf("page of %d, more than maxResults %d", len(out.ClusterArns), max)
				}
				got = append(got, out.ClusterArns...)
				pages++
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("listed clusters (-want +got):\n%s", diff)
			}
			wantPages := 1
			if max > 0 {
				wantPages = (25 + int(max) - 1) / int(max)
			}
			if pages != wantPages {
				t.Errorf("%d pages, want %d", pages, wantPages)
			}
		})
	}

	bad := []struct {
		name, msg string
		in        ecs.ListClustersInput
	}{
		{"maxResults 0", "maxResults", ecs.ListClustersInput{MaxResults: aws.Int32(0)}},
		{"maxResults 101", "maxResults", ecs.ListClustersInput{MaxResults: aws.Int32(101)}},
		{"maxResults -1", "maxResults", ecs.ListClustersInput{MaxResults: aws.Int32(-1)}},
		{"garbage nextToken", "nextToken", ecs.ListClustersInput{NextToken: aws.String("not a token!")}},
		{"base64 nextToken", "nextToken", ecs.ListClustersInput{NextToken: aws.String("AAAA")}},
		{"base64 of a cluster name", "nextToken",
			ecs.ListClustersInput{NextToken: aws.String(base64.RawURLEncoding.EncodeToString([]byte("list-05")))}},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.ListClusters(ctx, &tc.in)
			wantAPIError(t, err, "InvalidParameterException", tc.msg)
		})
	}

	t.Run("another list's nextToken", func(t *testing.T) {
		mustRegister(t, c, simpleTaskDef("list-05"))
		mustRegister(t, c, simpleTaskDef("list-05"))
		td, err := c.ListTaskDefinitions(ctx, &ecs.ListTaskDefinitionsInput{MaxResults: aws.Int32(1)})
		if err != nil || td.NextToken == nil {
			t.Fatalf("ListTaskDefinitions = %v, %v; want a nextToken", td, err)
		}
		_, err = c.ListClusters(ctx, &ecs.ListClustersInput{NextToken: td.NextToken})
		wantAPIError(t, err, "InvalidParameterException", "nextToken")
	})
}

func TestDeleteCluster(t *testing.T) {
	t.Parallel()
	_, c := startECS(t)
	ctx := context.Background()
	mustCreateCluster(t, c, &ecs.CreateClusterInput{ClusterName: aws.String("doomed")})
	mustCreateCluster(t, c, &ecs.CreateClusterInput{ClusterName: aws.String("by-arn")})

	t.Run("unknown", func(t *testing.T) {
		_, err := c.DeleteCluster(ctx, &ecs.DeleteClusterInput{Cluster: aws.String("never-was")})
		wantAPIError(t, err, "ClusterNotFoundException", "Cluster not found.")
	})
	t.Run("malformed ARN", func(t *testing.T) {
		_, err := c.DeleteCluster(ctx, &ecs.DeleteClusterInput{Cluster: aws.String(arnPrefix + "task/doomed/abc")})
		wantAPIError(t, err, "InvalidParameterException")
	})
	t.Run("returns INACTIVE, twice", func(t *testing.T) {
		for i := range 2 {
			out, err := c.DeleteCluster(ctx, &ecs.DeleteClusterInput{Cluster: aws.String("doomed")})
			if err != nil {
				t.Fatalf("delete #%d: %v", i+1, err)
			}
			if aws.ToString(out.Cluster.Status) != "INACTIVE" || aws.ToString(out.Cluster.ClusterArn) != clusterARN("doomed") {
				t.Errorf("delete #%d: cluster %s %s", i+1, aws.ToString(out.Cluster.ClusterArn), aws.ToString(out.Cluster.Status))
			}
		}
	})
	t.Run("by ARN", func(t *testing.T) {
		out, err := c.DeleteCluster(ctx, &ecs.DeleteClusterInput{Cluster: aws.String(clusterARN("by-arn"))})
		if err != nil {
			t.Fatal(err)
		}
		if aws.ToString(out.Cluster.Status) != "INACTIVE" {
			t.Errorf("status = %s", aws.ToString(out.Cluster.Status))
		}
		l, err := c.ListClusters(ctx, &ecs.ListClustersInput{})
		if err != nil {
			t.Fatal(err)
		}
		if slices.Contains(l.ClusterArns, clusterARN("by-arn")) {
			t.Errorf("deleted cluster still listed: %v", l.ClusterArns)
		}
	})
}

func TestUpdateClusterSettings(t *testing.T) {
	t.Parallel()
	_, c := startECS(t)
	ctx := context.Background()
	mustCreateCluster(t, c, &ecs.CreateClusterInput{ClusterName: aws.String("upd")})
	mustCreateCluster(t, c, &ecs.CreateClusterInput{ClusterName: aws.String("upd-gone")})
	if _, err := c.DeleteCluster(ctx, &ecs.DeleteClusterInput{Cluster: aws.String("upd-gone")}); err != nil {
		t.Fatal(err)
	}
	insights := func(v string) []types.ClusterSetting {
		return []types.ClusterSetting{{Name: types.ClusterSettingNameContainerInsights, Value: aws.String(v)}}
	}
	described := func(t *testing.T) []types.ClusterSetting {
		t.Helper()
		out, err := c.DescribeClusters(ctx, &ecs.DescribeClustersInput{Clusters: []string{"upd"}, Include: []types.ClusterField{types.ClusterFieldSettings}})
		if err != nil {
			t.Fatal(err)
		}
		return out.Clusters[0].Settings
	}

	ok := []struct {
		name  string
		value string
		call  func(v string) (*types.Cluster, error)
	}{
		{"UpdateCluster enabled", "enabled", func(v string) (*types.Cluster, error) {
			out, err := c.UpdateCluster(ctx, &ecs.UpdateClusterInput{Cluster: aws.String("upd"), Settings: insights(v)})
			if err != nil {
				return nil, err
			}
			return out.Cluster, nil
		}},
		{"UpdateClusterSettings enhanced", "enhanced", func(v string) (*types.Cluster, error) {
			out, err := c.UpdateClusterSettings(ctx, &ecs.UpdateClusterSettingsInput{Cluster: aws.String(clusterARN("upd")), Settings: insights(v)})
			if err != nil {
				return nil, err
			}
			return out.Cluster, nil
		}},
		{"UpdateClusterSettings disabled", "disabled", func(v string) (*types.Cluster, error) {
			out, err := c.UpdateClusterSettings(ctx, &ecs.UpdateClusterSettingsInput{Cluster: aws.String("upd"), Settings: insights(v)})
			if err != nil {
				return nil, err
			}
			return out.Cluster, nil
		}},
	}
	for _, tc := range ok {
		t.Run(tc.name, func(t *testing.T) {
			cl, err := tc.call(tc.value)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(insights(tc.value), cl.Settings, ignoreUnexported); diff != "" {
				t.Errorf("returned settings (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(insights(tc.value), described(t), ignoreUnexported); diff != "" {
				t.Errorf("stored settings (-want +got):\n%s", diff)
			}
		})
	}

	t.Run("UpdateCluster configuration", func(t *testing.T) {
		conf := &types.ClusterConfiguration{ExecuteCommandConfiguration: &types.ExecuteCommandConfiguration{Logging: types.ExecuteCommandLoggingNone}}
		out, err := c.UpdateCluster(ctx, &ecs.UpdateClusterInput{Cluster: aws.String("upd"), Configuration: conf})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(conf, out.Cluster.Configuration, ignoreUnexported); diff != "" {
			t.Errorf("configuration (-want +got):\n%s", diff)
		}
	})

	bad := []struct {
		name     string
		cluster  string
		settings []types.ClusterSetting
		code     string
		msg      string
	}{
		{"invalid name", "upd", []types.ClusterSetting{{Name: "turbo", Value: aws.String("enabled")}}, "InvalidParameterException", "settings[0].name"},
		{"invalid value", "upd", insights("yes"), "InvalidParameterException", "settings[0].value"},
		{"unknown cluster", "nowhere", insights("enabled"), "ClusterNotFoundException", "Cluster not found."},
		{"inactive cluster", "upd-gone", insights("enabled"), "ClusterNotFoundException", "Cluster not found."},
	}
	for _, tc := range bad {
		t.Run("UpdateCluster "+tc.name, func(t *testing.T) {
			_, err := c.UpdateCluster(ctx, &ecs.UpdateClusterInput{Cluster: aws.String(tc.cluster), Settings: tc.settings})
			wantAPIError(t, err, tc.code, tc.msg)
		})
		t.Run("UpdateClusterSettings "+tc.name, func(t *testing.T) {
			_, err := c.UpdateClusterSettings(ctx, &ecs.UpdateClusterSettingsInput{Cluster: aws.String(tc.cluster), Settings: tc.settings})
			wantAPIError(t, err, tc.code, tc.msg)
		})
	}
	t.Run("UpdateClusterSettings without settings", func(t *testing.T) {
		_, err := c.UpdateClusterSettings(ctx, &ecs.UpdateClusterSettingsInput{Cluster: aws.String("upd"), Settings: []types.ClusterSetting{}})
		wantAPIError(t, err, "InvalidParameterException", "settings")
	})
}

// TestClusterConcurrency: creating and deleting are idempotent, also when
// the same call races with itself.
func TestClusterConcurrency(t *testing.T) {
	t.Parallel()
	_, c := startECS(t)
	ctx := context.Background()
	const callers = 16
	race := func(call func() (*types.Cluster, error)) []string {
		var (
			mu     sync.Mutex
			states []string
			wg     sync.WaitGroup
		)
		for range callers {
			wg.Go(func() {
				cl, err := call()
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					states = append(states, err.Error())
					return
				}
				states = append(states, aws.ToString(cl.ClusterArn)+" "+aws.ToString(cl.Status))
			})
		}
		wg.Wait()
		return states
	}
	same := func(s string) []string { return slices.Repeat([]string{s}, callers) }

	for round := range 3 {
		created := race(func() (*types.Cluster, error) {
			out, err := c.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("racy")})
			if err != nil {
				return nil, err
			}
			return out.Cluster, nil
		})
		if diff := cmp.Diff(same(clusterARN("racy")+" ACTIVE"), created); diff != "" {
			t.Errorf("round %d: concurrent creates (-want +got):\n%s", round, diff)
		}
		deleted := race(func() (*types.Cluster, error) {
			out, err := c.DeleteCluster(ctx, &ecs.DeleteClusterInput{Cluster: aws.String("racy")})
			if err != nil {
				return nil, err
			}
			return out.Cluster, nil
		})
		if diff := cmp.Diff(same(clusterARN("racy")+" INACTIVE"), deleted); diff != "" {
			t.Errorf("round %d: concurrent deletes (-want +got):\n%s", round, diff)
		}
	}
}

// TestClusterWaiterFields checks what `aws ecs wait` and SDK callers rely
// on: status on every described cluster, through its life.
func TestClusterWaiterFields(t *testing.T) {
	t.Parallel()
	_, c := startECS(t)
	ctx := context.Background()
	status := func() string {
		out, err := c.DescribeClusters(ctx, &ecs.DescribeClustersInput{Clusters: []string{"life"}})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Clusters) == 0 {
			return aws.ToString(out.Failures[0].Reason)
		}
		return aws.ToString(out.Clusters[0].Status)
	}
	var got []string
	got = append(got, status())
	mustCreateCluster(t, c, &ecs.CreateClusterInput{ClusterName: aws.String("life")})
	got = append(got, status())
	if _, err := c.DeleteCluster(ctx, &ecs.DeleteClusterInput{Cluster: aws.String("life")}); err != nil {
		t.Fatal(err)
	}
	got = append(got, status())
	if diff := cmp.Diff([]string{"MISSING", "ACTIVE", "INACTIVE"}, got); diff != "" {
		t.Errorf("status through a cluster's life (-want +got):\n%s", diff)
	}
}
