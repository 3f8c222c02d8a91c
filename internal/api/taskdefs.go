package api

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"sync"

	"github.com/gantry-dev/gantry/internal/awsapi"
	"github.com/gantry-dev/gantry/internal/ecs"
	"github.com/gantry-dev/gantry/internal/placement"
	"github.com/gantry-dev/gantry/internal/store"
)

type tdItem = store.Item[store.TaskDefinitionRecord]

// ECS's limits: revisions per family, and the size of one definition.
const (
	maxRevision           = 1_000_000
	maxTaskDefinitionSize = 64 << 10
)

// RegisterTaskDefinition validates a definition and stores it as the
// family's next revision. The family's counter and the revision are written
// in one transaction, so revisions never repeat or skip, even across
// servers.
func (a *API) RegisterTaskDefinition(ctx context.Context, req *ecs.RegisterTaskDefinitionRequest) (*ecs.RegisterTaskDefinitionResponse, error) {
	td, err := ecs.NewTaskDefinition(req)
	if err != nil {
		return nil, wireError(err)
	}
	if err := validateTags("tags", req.Tags); err != nil {
		return nil, err
	}
	for i, c := range td.PlacementConstraints {
		if _, err := placement.ParseExpression(c.Expression); err != nil {
			return nil, clientError("placementConstraints[%d].expression: %v.", i, err)
		}
	}
	if size := jsonSize(td); size > maxTaskDefinitionSize {
		return nil, clientError("The task definition is %d bytes; the limit is 64 KiB.", size)
	}
	td.Status = ecs.TaskDefinitionStatusACTIVE
	td.RegisteredBy = a.principalARN(ctx)

	mu, _ := a.familyLocks.LoadOrStore(td.Family, new(sync.Mutex))
	mu.(*sync.Mutex).Lock()
	defer mu.(*sync.Mutex).Unlock()

	fam, exists := a.store.Families.Get(td.Family)
	for {
		next := int32(1)
		if exists {
			next = fam.Value.LastRevision + 1
		}
		if next > maxRevision {
			return nil, clientError("Family %s has reached the limit of %d revisions.", td.Family, maxRevision)
		}
		td.Revision = next
		td.TaskDefinitionArn = a.arns.TaskDefinition(td.Family, next)
		// Stamped once the revision is ours to write, so registration
		// times follow revision order even when callers queued.
		td.RegisteredAt = ecs.At(a.now())
		counter := &store.FamilyRecord{Family: td.Family, LastRevision: next}
		famWrite := a.store.Families.Create(td.Family, counter)
		if exists {
			famWrite = a.store.Families.Replace(td.Family, counter, fam.ModRevision)
		}
		rec := &store.TaskDefinitionRecord{TaskDefinition: *td, Tags: req.Tags}
		_, err := a.store.Commit(ctx, famWrite, a.store.TaskDefinitions.Create(store.TaskDefinitionKey(td.Family, next), rec))
		if err == nil {
			return &ecs.RegisterTaskDefinitionResponse{TaskDefinition: td, Tags: req.Tags}, nil
		}
		if err != store.ErrConflict {
			return nil, wireError(err)
		}
		// Another server registered in this family: read its counter.
		if fam, exists, err = a.store.Families.Fresh(ctx, td.Family); err != nil {
			return nil, wireError(err)
		}
	}
}

// principalARN names the caller in registeredBy, in IAM's user ARN form.
func (a *API) principalARN(ctx context.Context) string {
	p, ok := awsapi.PrincipalFrom(ctx)
	if !ok {
		return ""
	}
	return "arn:aws:iam::" + a.account + ":user/" + p.Name
}

// parseFamilyRevision splits "family" or "family:revision"; revision is 0
// when absent.
func parseFamilyRevision(s string) (string, int32, error) {
	family, revStr, hasRev := strings.Cut(s, ":")
	if !ecs.ValidFamily(family) {
		return "", 0, invalidParameter("%q is not a valid task definition family.", family)
	}
	if !hasRev {
		return family, 0, nil
	}
	rev, err := strconv.ParseInt(revStr, 10, 32)
	if err != nil || rev < 1 {
		return "", 0, invalidParameter("%q: the revision must be a positive integer.", s)
	}
	return family, int32(rev), nil
}

// taskDefinitionRef parses a reference as ECS accepts it: family,
// family:revision, or a task definition ARN.
func taskDefinitionRef(ref string) (string, int32, error) {
	if ref == "" {
		return "", 0, invalidParameter("taskDefinition is required.")
	}
	if strings.HasPrefix(ref, "arn:") {
		arn, ok := ecs.ParseARN(ref)
		if !ok || arn.Type != "task-definition" {
			return "", 0, invalidParameter("%q is not a valid task definition ARN.", ref)
		}
		ref = arn.Resource
	}
	return parseFamilyRevision(ref)
}

// findTaskDefinition resolves a reference to a stored revision; a bare
// family means its latest ACTIVE revision.
func (a *API) findTaskDefinition(ref string) (*tdItem, error) {
	family, rev, err := taskDefinitionRef(ref)
	if err != nil {
		return nil, err
	}
	if rev != 0 {
		it, ok := a.store.TaskDefinitions.Get(store.TaskDefinitionKey(family, rev))
		if !ok || it.Value.TaskDefinition.Status == ecs.TaskDefinitionStatusDELETEINPROGRESS {
			return nil, nil // deleted revisions can no longer be described
		}
		return it, nil
	}
	var found *tdItem
	a.eachRevision(family, true, func(it *tdItem) bool {
		if it.Value.TaskDefinition.Status == ecs.TaskDefinitionStatusACTIVE {
			found = it
			return false
		}
		return true
	})
	return found, nil
}

// eachRevision walks one family's revisions, newest first when desc.
func (a *API) eachRevision(family string, desc bool, fn func(*tdItem) bool) {
	walk := func(it *tdItem) bool {
		if it.Value.TaskDefinition.Family != family {
			return false
		}
		return fn(it)
	}
	if desc {
		a.store.TaskDefinitions.Descend(store.TaskDefinitionKey(family, maxRevision), walk)
	} else {
		a.store.TaskDefinitions.Ascend(family+"/", walk)
	}
}

func unableToDescribe() error { return clientError("Unable to describe task definition.") }

// DescribeTaskDefinition returns one revision, with its tags if asked.
func (a *API) DescribeTaskDefinition(ctx context.Context, req *ecs.DescribeTaskDefinitionRequest) (*ecs.DescribeTaskDefinitionResponse, error) {
	withTags := false
	for i, inc := range req.Include {
		if inc != ecs.TaskDefinitionFieldTAGS {
			return nil, invalidParameter("include[%d] %q is not valid; use TAGS.", i, inc)
		}
		withTags = true
	}
	it, err := a.findTaskDefinition(req.TaskDefinition)
	if err != nil {
		return nil, err
	}
	if it == nil {
		return nil, unableToDescribe()
	}
	out := &ecs.DescribeTaskDefinitionResponse{TaskDefinition: &it.Value.TaskDefinition}
	if withTags {
		out.Tags = nonNil(it.Value.Tags)
	}
	return out, nil
}

// ListTaskDefinitions lists revision ARNs by family and revision, filtered
// by family and status.
func (a *API) ListTaskDefinitions(ctx context.Context, req *ecs.ListTaskDefinitionsRequest) (*ecs.ListTaskDefinitionsResponse, error) {
	p, err := parsePage("taskDefinitions", req.MaxResults, req.NextToken, defaultPageSize)
	if err != nil {
		return nil, err
	}
	status := req.Status
	if status == "" {
		status = ecs.TaskDefinitionStatusACTIVE
	}
	if !validEnum(status) {
		return nil, invalidParameter("status %q is not valid; use one of %v.", status, status.Values())
	}
	desc := false
	switch req.Sort {
	case "", ecs.SortOrderASC:
	case ecs.SortOrderDESC:
		desc = true
	default:
		return nil, invalidParameter("sort %q is not valid; use ASC or DESC.", req.Sort)
	}
	c := collector{page: p}
	visit := func(it *tdItem) bool {
		if req.FamilyPrefix != "" && it.Value.TaskDefinition.Family != req.FamilyPrefix {
			return false // the walk starts inside the family, so it has left it
		}
		if it.Value.TaskDefinition.Status != status {
			return true
		}
		return c.add(it.Key, it.Value.TaskDefinition.TaskDefinitionArn)
	}
	from := p.after
	if from == "" && req.FamilyPrefix != "" {
		from = req.FamilyPrefix + "/"
		if desc {
			from = store.TaskDefinitionKey(req.FamilyPrefix, maxRevision)
		}
	}
	if desc {
		a.store.TaskDefinitions.Descend(from, visit)
	} else {
		a.store.TaskDefinitions.Ascend(from, visit)
	}
	return &ecs.ListTaskDefinitionsResponse{TaskDefinitionArns: nonNil(c.out), NextToken: c.next}, nil
}

// validEnum reports whether v is one of its type's model values.
func validEnum[E interface {
	~string
	Values() []E
}](v E) bool {
	for _, ok := range v.Values() {
		if v == ok {
			return true
		}
	}
	return false
}

// ListTaskDefinitionFamilies lists family names. A family is ACTIVE while
// any revision is ACTIVE and INACTIVE once none is; without a status both
// are listed. A family whose revisions are all gone is not listed.
func (a *API) ListTaskDefinitionFamilies(ctx context.Context, req *ecs.ListTaskDefinitionFamiliesRequest) (*ecs.ListTaskDefinitionFamiliesResponse, error) {
	p, err := parsePage("taskDefinitionFamilies", req.MaxResults, req.NextToken, defaultPageSize)
	if err != nil {
		return nil, err
	}
	status := req.Status
	if status == "" {
		status = ecs.TaskDefinitionFamilyStatusALL
	}
	if !validEnum(status) {
		return nil, invalidParameter("status %q is not valid; use one of %v.", status, status.Values())
	}
	c := collector{page: p}
	from := p.after
	if from == "" {
		from = req.FamilyPrefix
	}
	a.store.Families.Ascend(from, func(it *store.Item[store.FamilyRecord]) bool {
		family := it.Value.Family
		if !strings.HasPrefix(family, req.FamilyPrefix) {
			return family < req.FamilyPrefix
		}
		st, listed := a.familyStatus(family)
		if !listed || (status != ecs.TaskDefinitionFamilyStatusALL && st != status) {
			return true
		}
		return c.add(it.Key, family)
	})
	return &ecs.ListTaskDefinitionFamiliesResponse{Families: nonNil(c.out), NextToken: c.next}, nil
}

// familyStatus is ACTIVE if any revision is, else INACTIVE; listed is false
// once no revision remains (deleted revisions still being cleaned up count).
func (a *API) familyStatus(family string) (status ecs.TaskDefinitionFamilyStatus, listed bool) {
	status = ecs.TaskDefinitionFamilyStatusINACTIVE
	a.eachRevision(family, true, func(it *tdItem) bool {
		switch it.Value.TaskDefinition.Status {
		case ecs.TaskDefinitionStatusACTIVE:
			status, listed = ecs.TaskDefinitionFamilyStatusACTIVE, true
			return false
		}
		listed = true
		return true
	})
	return status, listed
}

// revisionRef resolves a reference that must name a revision.
func (a *API) revisionRef(ref string) (string, error) {
	family, rev, err := taskDefinitionRef(ref)
	if err != nil {
		return "", err
	}
	if rev == 0 {
		return "", clientError("The specified task definition %q needs a revision: use family:revision or a full ARN.", ref)
	}
	return store.TaskDefinitionKey(family, rev), nil
}

// DeregisterTaskDefinition marks a revision INACTIVE: running tasks and
// services keep it, but nothing new can start from it.
func (a *API) DeregisterTaskDefinition(ctx context.Context, req *ecs.DeregisterTaskDefinitionRequest) (*ecs.DeregisterTaskDefinitionResponse, error) {
	key, err := a.revisionRef(req.TaskDefinition)
	if err != nil {
		return nil, err
	}
	rec, err := a.store.TaskDefinitions.Update(ctx, key, func(r *store.TaskDefinitionRecord) error {
		td := &r.TaskDefinition
		if td.Status == ecs.TaskDefinitionStatusACTIVE {
			td.Status = ecs.TaskDefinitionStatusINACTIVE
			td.DeregisteredAt = ecs.At(a.now())
		}
		return nil
	})
	if err == store.ErrNotFound {
		return nil, clientError("The specified task definition does not exist.")
	}
	if err != nil {
		return nil, wireError(err)
	}
	return &ecs.DeregisterTaskDefinitionResponse{TaskDefinition: &rec.TaskDefinition}, nil
}

// DeleteTaskDefinitions marks INACTIVE revisions DELETE_IN_PROGRESS. Each
// refusal is a failure entry, not an error, as in ECS.
func (a *API) DeleteTaskDefinitions(ctx context.Context, req *ecs.DeleteTaskDefinitionsRequest) (*ecs.DeleteTaskDefinitionsResponse, error) {
	if len(req.TaskDefinitions) == 0 || len(req.TaskDefinitions) > 10 {
		return nil, invalidParameter("taskDefinitions must name 1 to 10 task definitions, got %d.", len(req.TaskDefinitions))
	}
	out := &ecs.DeleteTaskDefinitionsResponse{TaskDefinitions: []ecs.TaskDefinition{}, Failures: []ecs.Failure{}}
	for _, ref := range req.TaskDefinitions {
		td, reason, err := a.deleteTaskDefinition(ctx, ref)
		switch {
		case err != nil:
			return nil, err
		case reason != "":
			out.Failures = append(out.Failures, ecs.Failure{Arn: ref, Reason: reason})
		default:
			out.TaskDefinitions = append(out.TaskDefinitions, *td)
		}
	}
	return out, nil
}

// errStillActive refuses to delete a revision that was not deregistered.
var errStillActive = errors.New("task definition is still ACTIVE")

func (a *API) deleteTaskDefinition(ctx context.Context, ref string) (*ecs.TaskDefinition, string, error) {
	key, err := a.revisionRef(ref)
	if err != nil {
		return nil, "The specified task definition identifier is invalid. Specify a valid name or ARN and try again.", nil
	}
	rec, err := a.store.TaskDefinitions.Update(ctx, key, func(r *store.TaskDefinitionRecord) error {
		td := &r.TaskDefinition
		switch td.Status {
		case ecs.TaskDefinitionStatusACTIVE:
			return errStillActive
		case ecs.TaskDefinitionStatusINACTIVE:
			td.Status = ecs.TaskDefinitionStatusDELETEINPROGRESS
			td.DeleteRequestedAt = ecs.At(a.now())
		}
		return nil
	})
	switch {
	case err == store.ErrNotFound:
		return nil, "The specified task definition does not exist. Specify a valid account, family, revision and try again.", nil
	case err == errStillActive:
		return nil, "The specified task definition is still in ACTIVE status. Please deregister the target and try again.", nil
	case err != nil:
		return nil, "", wireError(err)
	}
	return &rec.TaskDefinition, "", nil
}

func jsonSize(v any) int {
	b, _ := json.Marshal(v)
	return len(b)
}
