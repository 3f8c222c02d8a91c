package api

import (
	"context"
	"net/http"
	"regexp"
	"slices"
	"strings"

	"github.com/gantry-dev/gantry/internal/awsapi"
	"github.com/gantry-dev/gantry/internal/ecs"
	"github.com/gantry-dev/gantry/internal/store"
)

// The service model's rules for attribute names and values.
var (
	attributeNameRE  = regexp.MustCompile(`^[a-zA-Z0-9_/\\.-]{1,128}$`)
	attributeValueRE = regexp.MustCompile(`^[a-zA-Z0-9_.@/\\: -]{1,128}$`)
)

// ECS's limits: attributes per PutAttributes or DeleteAttributes call,
// and custom attributes per resource.
const (
	maxAttributesPerCall = 10
	maxCustomAttributes  = 10
)

// builtinAttribute reports whether name is one the agent registers to
// describe its host (ecs.os-type, com.amazonaws.ecs.capability.…).
// Placement relies on them, so the agent alone sets them: they are not
// custom attributes, and the attribute actions leave them alone.
func builtinAttribute(name string) bool {
	return strings.HasPrefix(name, "ecs.") || strings.HasPrefix(name, "com.amazonaws.ecs.")
}

func targetNotFound(ref string) error {
	return awsapi.NewError(http.StatusBadRequest, "TargetNotFoundException",
		"The target %q was not found. Check that it is a container instance of this cluster that is not deregistered.", ref)
}

func attributeLimitExceeded(ref string, n int) error {
	return awsapi.NewError(http.StatusBadRequest, "AttributeLimitExceededException",
		"A resource can have at most %d custom attributes; this would give %s %d.", maxCustomAttributes, ref, n)
}

// attributeTarget is one container instance an attribute request names.
type attributeTarget struct {
	key, ref string
	attrs    []ecs.Attribute
}

// attributeTargets validates an attribute request and groups its
// attributes by the instance they target, in request order.
func (a *API) attributeTargets(cluster string, attrs []ecs.Attribute, withValue bool) ([]*attributeTarget, error) {
	if n := len(attrs); n == 0 || n > maxAttributesPerCall {
		return nil, invalidParameter("attributes must hold 1 to %d attributes, got %d.", maxAttributesPerCall, n)
	}
	var targets []*attributeTarget
	for i, at := range attrs {
		if err := validateAttribute(i, at, withValue); err != nil {
			return nil, err
		}
		key, _, ok := a.instanceRef(cluster, at.TargetId)
		if !ok {
			return nil, targetNotFound(at.TargetId)
		}
		j := slices.IndexFunc(targets, func(t *attributeTarget) bool { return t.key == key })
		if j < 0 {
			targets = append(targets, &attributeTarget{key: key, ref: at.TargetId})
			j = len(targets) - 1
		}
		targets[j].attrs = append(targets[j].attrs, at)
	}
	return targets, nil
}

// validateAttribute checks one attribute of a Put or Delete request.
func validateAttribute(i int, at ecs.Attribute, withValue bool) error {
	switch {
	case !attributeNameRE.MatchString(at.Name):
		return invalidParameter("attributes[%d].name %q must be 1 to 128 letters, digits, hyphens, underscores, periods, forward or back slashes.", i, at.Name)
	case builtinAttribute(at.Name):
		return invalidParameter("attributes[%d].name %q: attributes named ecs.* and com.amazonaws.ecs.* are set by the container agent.", i, at.Name)
	case withValue && at.Value != "" && (!attributeValueRE.MatchString(at.Value) || strings.TrimSpace(at.Value) != at.Value):
		return invalidParameter("attributes[%d].value must be 1 to 128 letters, digits, spaces, hyphens, underscores, periods, at signs, colons, forward or back slashes, and cannot start or end with a space.", i)
	case at.TargetType != "" && at.TargetType != ecs.TargetTypeContainerInstance:
		return invalidParameter("attributes[%d].targetType %q is not valid; use container-instance.", i, at.TargetType)
	case at.TargetId == "":
		return invalidParameter("attributes[%d].targetId is required.", i)
	case at.TargetType == "" && !strings.HasPrefix(at.TargetId, "arn:"):
		return invalidParameter("attributes[%d].targetType is required when targetId is an ID rather than an ARN.", i)
	}
	return nil
}

// changeTargets applies change to every targeted instance in one
// transaction, so a request changes all of them or none. It retries when
// an instance changed meanwhile.
func (a *API) changeTargets(ctx context.Context, targets []*attributeTarget, change func(*attributeTarget, *store.InstanceRecord) error) error {
	fresh := false
	for attempt := 0; ; attempt++ {
		writes := make([]store.Write, 0, len(targets))
		for _, t := range targets {
			item, ok := a.store.Instances.Get(t.key)
			if fresh { // after a conflict the cache may lag behind etcd
				var err error
				if item, ok, err = a.store.Instances.Fresh(ctx, t.key); err != nil {
					return wireError(err)
				}
			}
			if !ok || item.Value.Instance.Status == statusInactive {
				return targetNotFound(t.ref)
			}
			rec, err := store.Clone(item.Value)
			if err != nil {
				return wireError(err)
			}
			if err := change(t, rec); err != nil {
				return err
			}
			rec.Instance.Version++
			writes = append(writes, a.store.Instances.Replace(t.key, rec, item.ModRevision))
		}
		_, err := a.store.Commit(ctx, writes...)
		if err != store.ErrConflict || attempt == 100 {
			return wireError(err)
		}
		fresh = true
	}
}

// PutAttributes sets custom attributes on container instances, replacing
// the value of any already set.
func (a *API) PutAttributes(ctx context.Context, req *ecs.PutAttributesRequest) (*ecs.PutAttributesResponse, error) {
	cl, err := a.activeCluster(req.Cluster)
	if err != nil {
		return nil, err
	}
	targets, err := a.attributeTargets(cl.Value.Cluster.ClusterName, req.Attributes, true)
	if err != nil {
		return nil, err
	}
	err = a.changeTargets(ctx, targets, func(t *attributeTarget, rec *store.InstanceRecord) error {
		for _, at := range t.attrs {
			rec.Instance.Attributes = setAttribute(rec.Instance.Attributes, ecs.Attribute{Name: at.Name, Value: at.Value})
		}
		if n := countCustom(rec.Instance.Attributes); n > maxCustomAttributes {
			return attributeLimitExceeded(t.ref, n)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &ecs.PutAttributesResponse{Attributes: req.Attributes}, nil
}

func setAttribute(attrs []ecs.Attribute, at ecs.Attribute) []ecs.Attribute {
	if i := slices.IndexFunc(attrs, func(e ecs.Attribute) bool { return e.Name == at.Name }); i >= 0 {
		attrs[i] = at
		return attrs
	}
	return append(attrs, at)
}

func countCustom(attrs []ecs.Attribute) int {
	n := 0
	for _, at := range attrs {
		if !builtinAttribute(at.Name) {
			n++
		}
	}
	return n
}

// DeleteAttributes removes custom attributes from container instances by
// name; naming an attribute that is not set is not an error.
func (a *API) DeleteAttributes(ctx context.Context, req *ecs.DeleteAttributesRequest) (*ecs.DeleteAttributesResponse, error) {
	cl, err := a.activeCluster(req.Cluster)
	if err != nil {
		return nil, err
	}
	targets, err := a.attributeTargets(cl.Value.Cluster.ClusterName, req.Attributes, false)
	if err != nil {
		return nil, err
	}
	err = a.changeTargets(ctx, targets, func(t *attributeTarget, rec *store.InstanceRecord) error {
		rec.Instance.Attributes = slices.DeleteFunc(rec.Instance.Attributes, func(e ecs.Attribute) bool {
			return slices.ContainsFunc(t.attrs, func(at ecs.Attribute) bool { return at.Name == e.Name })
		})
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &ecs.DeleteAttributesResponse{Attributes: req.Attributes}, nil
}

// attributeKeySep joins an instance's store key and an attribute name in a
// page token; neither can hold a space.
const attributeKeySep = " "

// ListAttributes lists the attributes of a cluster's container instances
// (those not deregistered), one entry per attribute per instance, built-in
// ones included, optionally only those with a name, or a name and value.
func (a *API) ListAttributes(ctx context.Context, req *ecs.ListAttributesRequest) (*ecs.ListAttributesResponse, error) {
	p, err := parsePage("attributes", req.MaxResults, req.NextToken, defaultPageSize)
	if err != nil {
		return nil, err
	}
	switch {
	case req.TargetType == "":
		return nil, invalidParameter("targetType is required.")
	case req.TargetType != ecs.TargetTypeContainerInstance:
		return nil, invalidParameter("targetType %q is not valid; use container-instance.", req.TargetType)
	case req.AttributeValue != "" && req.AttributeName == "":
		return nil, invalidParameter("attributeValue needs attributeName.")
	}
	cl, err := a.activeCluster(req.Cluster)
	if err != nil {
		return nil, err
	}
	prefix := cl.Value.Cluster.ClusterName + "/"
	from, afterName := prefix, ""
	if p.after != "" {
		var ok bool
		from, afterName, ok = strings.Cut(p.after, attributeKeySep)
		if !ok || !strings.HasPrefix(from, prefix) {
			return nil, invalidParameter("Invalid nextToken.")
		}
	}
	c := collector{page: p}
	out := []ecs.Attribute{}
	a.store.Instances.Ascend(from, func(it *store.Item[store.InstanceRecord]) bool {
		if !strings.HasPrefix(it.Key, prefix) {
			return false
		}
		if it.Value.Instance.Status == statusInactive {
			return true
		}
		arn := a.instanceARN(it.Value)
		for _, at := range sortedAttributes(it.Value.Instance.Attributes) {
			if it.Key == from && at.Name < afterName {
				continue // listed on an earlier page
			}
			if (req.AttributeName != "" && at.Name != req.AttributeName) || (req.AttributeValue != "" && at.Value != req.AttributeValue) {
				continue
			}
			n := len(c.out)
			if !c.add(it.Key+attributeKeySep+at.Name, "") {
				return false
			}
			if len(c.out) > n {
				out = append(out, ecs.Attribute{Name: at.Name, Value: at.Value, TargetId: arn})
			}
		}
		return true
	})
	return &ecs.ListAttributesResponse{Attributes: out, NextToken: c.next}, nil
}

func sortedAttributes(attrs []ecs.Attribute) []ecs.Attribute {
	out := slices.Clone(attrs)
	slices.SortFunc(out, func(a, b ecs.Attribute) int { return strings.Compare(a.Name, b.Name) })
	return out
}
