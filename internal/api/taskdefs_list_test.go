package api_test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/google/go-cmp/cmp"
)

// arns turns "family:rev" references into task definition ARNs.
func arns(refs ...string) []string {
	out := make([]string, len(refs))
	for i, r := range refs {
		out[i] = taskDefARN(r)
	}
	return out
}

// revs lists "family:from" … "family:to", skipping the revisions in skip.
func revs(family string, from, to int, skip ...int) []string {
	var out []string
	for r := from; r <= to; r++ {
		if !slices.Contains(skip, r) {
			out = append(out, fmt.Sprintf("%s:%d", family, r))
		}
	}
	return out
}

func reversed(s []string) []string {
	out := slices.Clone(s)
	slices.Reverse(out)
	return out
}

// listAllTaskDefinitions follows every page with the SDK's paginator.
func listAllTaskDefinitions(t *testing.T, c *ecs.Client, in *ecs.ListTaskDefinitionsInput) []string {
	t.Helper()
	var got []string
	for p := ecs.NewListTaskDefinitionsPaginator(c, in); p.HasMorePages(); {
		out, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if in.MaxResults != nil && len(out.TaskDefinitionArns) > int(*in.MaxResults) {
			t.Errorf("page of %d, more than maxResults %d", len(out.TaskDefinitionArns), *in.MaxResults)
		}
		got = append(got, out.TaskDefinitionArns...)
	}
	return got
}

func TestListTaskDefinitions(t *testing.T) {
	t.Parallel()
	_, c := startECS(t)
	ctx := context.Background()
	// alpha has 12 revisions, so 10 must sort after 9; alpha-beta starts
	// with alpha but is another family.
	for _, f := range []struct {
		family string
		n      int
	}{{"beta", 3}, {"alpha", 12}, {"alpha-beta", 2}} {
		for range f.n {
			mustRegister(t, c, simpleTaskDef(f.family))
		}
	}
	mustDeregister(t, c, "alpha:2")
	mustDeregister(t, c, "alpha:5")
	mustDeregister(t, c, "beta:1")
	if _, err := c.DeleteTaskDefinitions(ctx, &ecs.DeleteTaskDefinitionsInput{TaskDefinitions: []string{"alpha:5"}}); err != nil {
		t.Fatal(err)
	}

	activeASC := arns(slices.Concat(revs("alpha", 1, 12, 2, 5), revs("alpha-beta", 1, 2), revs("beta", 2, 3))...)
	tests := []struct {
		name string
		in   ecs.ListTaskDefinitionsInput
		want []string
	}{
		{"default is ACTIVE ascending", ecs.ListTaskDefinitionsInput{}, activeASC},
		{"ASC", ecs.ListTaskDefinitionsInput{Sort: types.SortOrderAsc}, activeASC},
		{"DESC", ecs.ListTaskDefinitionsInput{Sort: types.SortOrderDesc}, reversed(activeASC)},
		{"family is an exact match", ecs.ListTaskDefinitionsInput{FamilyPrefix: aws.String("alpha")}, arns(revs("alpha", 1, 12, 2, 5)...)},
		{"family DESC", ecs.ListTaskDefinitionsInput{FamilyPrefix: aws.String("alpha"), Sort: types.SortOrderDesc},
			reversed(arns(revs("alpha", 1, 12, 2, 5)...))},
		{"family prefix of nothing", ecs.ListTaskDefinitionsInput{FamilyPrefix: aws.String("alp")}, []string{}},
		{"INACTIVE", ecs.ListTaskDefinitionsInput{Status: types.TaskDefinitionStatusInactive}, arns("alpha:2", "beta:1")},
		{"INACTIVE DESC", ecs.ListTaskDefinitionsInput{Status: types.TaskDefinitionStatusInactive, Sort: types.SortOrderDesc}, arns("beta:1", "alpha:2")},
		{"DELETE_IN_PROGRESS", ecs.ListTaskDefinitionsInput{Status: types.TaskDefinitionStatusDeleteInProgress}, arns("alpha:5")},
		{"INACTIVE in a family", ecs.ListTaskDefinitionsInput{FamilyPrefix: aws.String("beta"), Status: types.TaskDefinitionStatusInactive}, arns("beta:1")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := c.ListTaskDefinitions(ctx, &tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, out.TaskDefinitionArns); diff != "" {
				t.Errorf("ARNs (-want +got):\n%s", diff)
			}
			if out.NextToken != nil {
				t.Errorf("nextToken %q on the only page", *out.NextToken)
			}
		})
	}

	for _, max := range []int32{1, 4, 7, 100} {
		for _, sort := range []types.SortOrder{types.SortOrderAsc, types.SortOrderDesc} {
			for _, family := range []string{"", "alpha"} {
				t.Run(fmt.Sprintf("pages of %d %s family=%q", max, sort, family), func(t *testing.T) {
					in := &ecs.ListTaskDefinitionsInput{MaxResults: aws.Int32(max), Sort: sort}
					want := activeASC
					if family != "" {
						in.FamilyPrefix = aws.String(family)
						want = arns(revs("alpha", 1, 12, 2, 5)...)
					}
					if sort == types.SortOrderDesc {
						want = reversed(want)
					}
					if diff := cmp.Diff(want, listAllTaskDefinitions(t, c, in)); diff != "" {
						t.Errorf("ARNs over all pages (-want +got):\n%s", diff)
					}
				})
			}
		}
	}

	bad := []struct {
		name string
		in   ecs.ListTaskDefinitionsInput
	}{
		{"invalid status", ecs.ListTaskDefinitionsInput{Status: "DELETED"}},
		{"invalid sort", ecs.ListTaskDefinitionsInput{Sort: "RANDOM"}},
		{"maxResults 0", ecs.ListTaskDefinitionsInput{MaxResults: aws.Int32(0)}},
		{"maxResults 101", ecs.ListTaskDefinitionsInput{MaxResults: aws.Int32(101)}},
		{"garbage nextToken", ecs.ListTaskDefinitionsInput{NextToken: aws.String("%%%")}},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.ListTaskDefinitions(ctx, &tc.in)
			wantAPIError(t, err, "InvalidParameterException")
		})
	}
}

func TestListTaskDefinitionFamilies(t *testing.T) {
	t.Parallel()
	_, c := startECS(t)
	ctx := context.Background()
	// svc-a: active; svc-b: every revision deregistered; svc-c: one of
	// each; other: active, outside the prefix.
	for _, f := range []string{"svc-c", "svc-a", "svc-b", "svc-c", "other", "svc-b"} {
		mustRegister(t, c, simpleTaskDef(f))
	}
	mustDeregister(t, c, "svc-b:1")
	mustDeregister(t, c, "svc-b:2")
	mustDeregister(t, c, "svc-c:2")

	tests := []struct {
		name   string
		prefix string
		status types.TaskDefinitionFamilyStatus
		want   []string
	}{
		{"everything", "", "", []string{"other", "svc-a", "svc-b", "svc-c"}},
		{"prefix, default status", "svc", "", []string{"svc-a", "svc-b", "svc-c"}},
		{"prefix ALL", "svc-", types.TaskDefinitionFamilyStatusAll, []string{"svc-a", "svc-b", "svc-c"}},
		{"prefix ACTIVE", "svc", types.TaskDefinitionFamilyStatusActive, []string{"svc-a", "svc-c"}},
		{"prefix INACTIVE", "svc", types.TaskDefinitionFamilyStatusInactive, []string{"svc-b"}},
		{"whole name is a prefix", "svc-a", "", []string{"svc-a"}},
		{"prefix of nothing", "zzz", "", []string{}},
		{"prefix sorting first", "a", "", []string{}},
	}
	for _, tc := range tests {
		for _, max := range []int32{0, 1, 2} { // 0: no maxResults
			t.Run(fmt.Sprintf("%s max=%d", tc.name, max), func(t *testing.T) {
				in := &ecs.ListTaskDefinitionFamiliesInput{Status: tc.status}
				if tc.prefix != "" {
					in.FamilyPrefix = aws.String(tc.prefix)
				}
				if max > 0 {
					in.MaxResults = aws.Int32(max)
				}
				got := []string{}
				for p := ecs.NewListTaskDefinitionFamiliesPaginator(c, in); p.HasMorePages(); {
					out, err := p.NextPage(ctx)
					if err != nil {
						t.Fatal(err)
					}
					if max > 0 && len(out.Families) > int(max) {
						t.Errorf("page of %d, more than maxResults %d", len(out.Families), max)
					}
					got = append(got, out.Families...)
				}
				if diff := cmp.Diff(tc.want, got); diff != "" {
					t.Errorf("families (-want +got):\n%s", diff)
				}
			})
		}
	}

	bad := []struct {
		name string
		in   ecs.ListTaskDefinitionFamiliesInput
	}{
		{"invalid status", ecs.ListTaskDefinitionFamiliesInput{Status: "DELETE_IN_PROGRESS"}},
		{"maxResults 0", ecs.ListTaskDefinitionFamiliesInput{MaxResults: aws.Int32(0)}},
		{"maxResults 101", ecs.ListTaskDefinitionFamiliesInput{MaxResults: aws.Int32(101)}},
		{"garbage nextToken", ecs.ListTaskDefinitionFamiliesInput{NextToken: aws.String("not a token")}},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.ListTaskDefinitionFamilies(ctx, &tc.in)
			wantAPIError(t, err, "InvalidParameterException")
		})
	}
}
