package api_test

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/google/go-cmp/cmp"
)

func tags(kv ...string) []types.Tag {
	out := make([]types.Tag, 0, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		out = append(out, types.Tag{Key: aws.String(kv[i]), Value: aws.String(kv[i+1])})
	}
	return out
}

// tagMap makes tag lists comparable whatever their order.
func tagMap(ts []types.Tag) map[string]string {
	m := map[string]string{}
	for _, t := range ts {
		m[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return m
}

func TestTags(t *testing.T) {
	t.Parallel()
	_, c := startECS(t)
	ctx := context.Background()
	mustCreateCluster(t, c, &ecs.CreateClusterInput{ClusterName: aws.String("tagged"), Tags: tags("env", "dev")})
	mustRegister(t, c, simpleTaskDef("tagged-td"))

	resources := []struct {
		name, arn string
		// describedTags reads the tags back the resource's own way.
		describedTags func(t *testing.T) []types.Tag
	}{
		{"cluster", clusterARN("tagged"), func(t *testing.T) []types.Tag {
			out, err := c.DescribeClusters(ctx, &ecs.DescribeClustersInput{Clusters: []string{"tagged"}, Include: []types.ClusterField{types.ClusterFieldTags}})
			if err != nil {
				t.Fatal(err)
			}
			return out.Clusters[0].Tags
		}},
		{"task definition", taskDefARN("tagged-td:1"), func(t *testing.T) []types.Tag {
			out, err := c.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{
				TaskDefinition: aws.String("tagged-td:1"), Include: []types.TaskDefinitionField{types.TaskDefinitionFieldTags},
			})
			if err != nil {
				t.Fatal(err)
			}
			return out.Tags
		}},
	}
	for _, r := range resources {
		t.Run(r.name, func(t *testing.T) {
			list := func() map[string]string {
				t.Helper()
				out, err := c.ListTagsForResource(ctx, &ecs.ListTagsForResourceInput{ResourceArn: aws.String(r.arn)})
				if err != nil {
					t.Fatal(err)
				}
				if out.Tags == nil {
					t.Errorf("tags missing instead of []")
				}
				return tagMap(out.Tags)
			}
			start := list()
			steps := []struct {
				name string
				do   func() error
				want map[string]string
			}{
				{"add", func() error {
					_, err := c.TagResource(ctx, &ecs.TagResourceInput{ResourceArn: aws.String(r.arn), Tags: tags("team", "a", "cost", "1")})
					return err
				}, merge(start, map[string]string{"team": "a", "cost": "1"})},
				{"overwrite", func() error {
					_, err := c.TagResource(ctx, &ecs.TagResourceInput{ResourceArn: aws.String(r.arn), Tags: tags("team", "b")})
					return err
				}, merge(start, map[string]string{"team": "b", "cost": "1"})},
				{"remove, ignoring unknown keys", func() error {
					_, err := c.UntagResource(ctx, &ecs.UntagResourceInput{ResourceArn: aws.String(r.arn), TagKeys: []string{"cost", "never-set"}})
					return err
				}, merge(start, map[string]string{"team": "b"})},
			}
			for _, s := range steps {
				if err := s.do(); err != nil {
					t.Fatalf("%s: %v", s.name, err)
				}
				if diff := cmp.Diff(s.want, list()); diff != "" {
					t.Errorf("after %s, ListTagsForResource (-want +got):\n%s", s.name, diff)
				}
				if diff := cmp.Diff(s.want, tagMap(r.describedTags(t))); diff != "" {
					t.Errorf("after %s, described tags (-want +got):\n%s", s.name, diff)
				}
			}
		})
	}
}

func merge(a, b map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}

func TestTagErrors(t *testing.T) {
	t.Parallel()
	_, c := startECS(t)
	ctx := context.Background()
	mustCreateCluster(t, c, &ecs.CreateClusterInput{ClusterName: aws.String("full")})
	mustCreateCluster(t, c, &ecs.CreateClusterInput{ClusterName: aws.String("gone")})
	if _, err := c.DeleteCluster(ctx, &ecs.DeleteClusterInput{Cluster: aws.String("gone")}); err != nil {
		t.Fatal(err)
	}
	mustRegister(t, c, simpleTaskDef("td"))
	mustRegister(t, c, simpleTaskDef("td"))
	mustDeregister(t, c, "td:2")
	if _, err := c.DeleteTaskDefinitions(ctx, &ecs.DeleteTaskDefinitionsInput{TaskDefinitions: []string{"td:2"}}); err != nil {
		t.Fatal(err)
	}
	// A cluster one tag short of the limit.
	var kv []string
	for i := range 49 {
		kv = append(kv, fmt.Sprintf("k%02d", i), "v")
	}
	if _, err := c.TagResource(ctx, &ecs.TagResourceInput{ResourceArn: aws.String(clusterARN("full")), Tags: tags(kv...)}); err != nil {
		t.Fatal(err)
	}
	var tooMany []string
	for i := range 51 {
		tooMany = append(tooMany, fmt.Sprintf("n%02d", i), "v")
	}

	tests := []struct {
		name, arn string
		tags      []types.Tag
		code, msg string
	}{
		{"unknown cluster", clusterARN("nowhere"), tags("a", "b"), "ClusterNotFoundException", "Cluster not found."},
		{"inactive cluster", clusterARN("gone"), tags("a", "b"), "ClusterNotFoundException", "Cluster not found."},
		{"unknown task definition", taskDefARN("nothing:1"), tags("a", "b"), "ResourceNotFoundException", ""},
		{"unknown revision", taskDefARN("td:9"), tags("a", "b"), "ResourceNotFoundException", ""},
		{"deleted revision", taskDefARN("td:2"), tags("a", "b"), "ResourceNotFoundException", ""},
		{"not an ARN", "full", tags("a", "b"), "InvalidParameterException", "ARN"},
		{"not an ECS ARN", "arn:aws:s3:::bucket", tags("a", "b"), "InvalidParameterException", "ARN"},
		{"task definition ARN without revision", taskDefARN("td"), tags("a", "b"), "InvalidParameterException", "revision"},
		{"aws: prefix", clusterARN("full"), tags("aws:secret", "b"), "InvalidParameterException", "aws:"},
		{"empty key", clusterARN("full"), tags("", "b"), "InvalidParameterException", "key"},
		{"key too long", clusterARN("full"), tags(strings.Repeat("k", 129), "b"), "InvalidParameterException", "key"},
		{"value too long", clusterARN("full"), tags("k", strings.Repeat("v", 257)), "InvalidParameterException", "value"},
		{"51 tags in one call", taskDefARN("td:1"), tags(tooMany...), "InvalidParameterException", "50"},
		{"51 tags on the resource", clusterARN("full"), tags("one", "1", "two", "2"), "InvalidParameterException", "50"},
		{"no tags", clusterARN("full"), []types.Tag{}, "InvalidParameterException", "tags"},
	}
	for _, tc := range tests {
		t.Run("TagResource "+tc.name, func(t *testing.T) {
			_, err := c.TagResource(ctx, &ecs.TagResourceInput{ResourceArn: aws.String(tc.arn), Tags: tc.tags})
			wantAPIError(t, err, tc.code, tc.msg)
		})
	}
	t.Run("refused tags were not applied", func(t *testing.T) {
		out, err := c.ListTagsForResource(ctx, &ecs.ListTagsForResourceInput{ResourceArn: aws.String(clusterARN("full"))})
		if err != nil {
			t.Fatal(err)
		}
		var keys []string
		for _, tg := range out.Tags {
			keys = append(keys, aws.ToString(tg.Key))
		}
		sort.Strings(keys)
		if len(keys) != 49 || keys[0] != "k00" || keys[48] != "k48" {
			t.Errorf("cluster tags = %v, want k00..k48", keys)
		}
	})

	notFound := []struct{ name, arn, code string }{
		{"unknown cluster", clusterARN("nowhere"), "ClusterNotFoundException"},
		{"inactive cluster", clusterARN("gone"), "ClusterNotFoundException"},
		{"unknown task definition", taskDefARN("nothing:3"), "ResourceNotFoundException"},
		{"deleted revision", taskDefARN("td:2"), "ResourceNotFoundException"},
		{"malformed ARN", "arn:aws:ecs:us-east-1", "InvalidParameterException"},
	}
	for _, tc := range notFound {
		t.Run("ListTagsForResource "+tc.name, func(t *testing.T) {
			_, err := c.ListTagsForResource(ctx, &ecs.ListTagsForResourceInput{ResourceArn: aws.String(tc.arn)})
			wantAPIError(t, err, tc.code)
		})
		t.Run("UntagResource "+tc.name, func(t *testing.T) {
			_, err := c.UntagResource(ctx, &ecs.UntagResourceInput{ResourceArn: aws.String(tc.arn), TagKeys: []string{"k00"}})
			wantAPIError(t, err, tc.code)
		})
	}
	t.Run("UntagResource without keys", func(t *testing.T) {
		_, err := c.UntagResource(ctx, &ecs.UntagResourceInput{ResourceArn: aws.String(clusterARN("full")), TagKeys: []string{}})
		wantAPIError(t, err, "InvalidParameterException", "tagKeys")
	})
	t.Run("inactive task definitions can be tagged", func(t *testing.T) {
		mustDeregister(t, c, "td:1")
		if _, err := c.TagResource(ctx, &ecs.TagResourceInput{ResourceArn: aws.String(taskDefARN("td:1")), Tags: tags("k", "v")}); err != nil {
			t.Fatal(err)
		}
	})
}
