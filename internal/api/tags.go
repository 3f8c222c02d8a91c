package api

import (
	"context"
	"slices"
	"strings"

	"github.com/gantry-dev/gantry/internal/ecs"
	"github.com/gantry-dev/gantry/internal/store"
)

const maxTags = 50

// validateTags applies ECS's tag rules to the tags a request sets.
func validateTags(field string, tags []ecs.Tag) error {
	if len(tags) > maxTags {
		return invalidParameter("%s can have at most %d items, got %d.", field, maxTags, len(tags))
	}
	for i, t := range tags {
		switch {
		case t.Key == "" || len(t.Key) > 128:
			return invalidParameter("%s[%d].key must be 1 to 128 characters.", field, i)
		case len(t.Value) > 256:
			return invalidParameter("%s[%d].value must be at most 256 characters.", field, i)
		case strings.HasPrefix(strings.ToLower(t.Key), "aws:"):
			return invalidParameter("%s[%d].key: the aws: prefix is reserved for AWS use.", field, i)
		}
	}
	return nil
}

// mergeTags sets each tag in add on existing, replacing values of keys that
// are already there.
func mergeTags(existing, add []ecs.Tag) []ecs.Tag {
	out := slices.Clone(existing)
	for _, t := range add {
		i := slices.IndexFunc(out, func(e ecs.Tag) bool { return e.Key == t.Key })
		if i >= 0 {
			out[i].Value = t.Value
		} else {
			out = append(out, t)
		}
	}
	return out
}

func removeTags(existing []ecs.Tag, keys []string) []ecs.Tag {
	return slices.DeleteFunc(slices.Clone(existing), func(t ecs.Tag) bool { return slices.Contains(keys, t.Key) })
}

// TagResource adds or overwrites tags on a cluster, task definition,
// container instance or service.
func (a *API) TagResource(ctx context.Context, req *ecs.TagResourceRequest) (*ecs.TagResourceResponse, error) {
	if err := validateTags("tags", req.Tags); err != nil {
		return nil, err
	}
	if len(req.Tags) == 0 {
		return nil, invalidParameter("tags must not be empty.")
	}
	err := a.updateTags(ctx, req.ResourceArn, func(tags []ecs.Tag) ([]ecs.Tag, error) {
		out := mergeTags(tags, req.Tags)
		if len(out) > maxTags {
			return nil, invalidParameter("tags: a resource can have at most %d tags; this would make %d.", maxTags, len(out))
		}
		return out, nil
	})
	return &ecs.TagResourceResponse{}, err
}

// UntagResource removes tags by key; keys that are not set are ignored.
func (a *API) UntagResource(ctx context.Context, req *ecs.UntagResourceRequest) (*ecs.UntagResourceResponse, error) {
	if len(req.TagKeys) == 0 {
		return nil, invalidParameter("tagKeys must not be empty.")
	}
	err := a.updateTags(ctx, req.ResourceArn, func(tags []ecs.Tag) ([]ecs.Tag, error) {
		return removeTags(tags, req.TagKeys), nil
	})
	return &ecs.UntagResourceResponse{}, err
}

// ListTagsForResource returns a resource's tags.
func (a *API) ListTagsForResource(ctx context.Context, req *ecs.ListTagsForResourceRequest) (*ecs.ListTagsForResourceResponse, error) {
	tags, err := a.readTags(req.ResourceArn)
	if err != nil {
		return nil, err
	}
	if tags == nil {
		tags = []ecs.Tag{}
	}
	return &ecs.ListTagsForResourceResponse{Tags: tags}, nil
}

// taggable is where a resource ARN's tags live.
type taggable struct {
	kind string // "cluster", "task-definition", "container-instance", "service"
	key  string // store key
}

func (a *API) resolveTaggable(arn string) (taggable, error) {
	if arn == "" {
		return taggable{}, invalidParameter("resourceArn must not be empty.")
	}
	parsed, ok := ecs.ParseARN(arn)
	if !ok {
		return taggable{}, invalidParameter("The ARN provided is invalid: %q.", arn)
	}
	switch parsed.Type {
	case "cluster":
		return taggable{kind: parsed.Type, key: parsed.Resource}, nil
	case "task-definition":
		family, rev, err := parseFamilyRevision(parsed.Resource)
		if err != nil || rev == 0 {
			return taggable{}, invalidParameter("resourceArn %q: a task definition ARN needs family:revision.", arn)
		}
		return taggable{kind: parsed.Type, key: store.TaskDefinitionKey(family, rev)}, nil
	case "container-instance":
		return taggable{kind: parsed.Type, key: a.instanceKeyFromARN(parsed.Resource)}, nil
	case "service":
		// The short form, "service/<name>", names a service of the
		// default cluster.
		cluster, name, long := strings.Cut(parsed.Resource, "/")
		if !long {
			cluster, name = "default", parsed.Resource
		}
		return taggable{kind: parsed.Type, key: store.ServiceKey(cluster, name)}, nil
	}
	return taggable{}, invalidParameter("resourceArn %q: tagging %s resources is not supported.", arn, parsed.Type)
}

func (a *API) readTags(arn string) ([]ecs.Tag, error) {
	r, err := a.resolveTaggable(arn)
	if err != nil {
		return nil, err
	}
	switch r.kind {
	case "cluster":
		item, ok := a.store.Clusters.Get(r.key)
		if !ok || item.Value.Cluster.Status != "ACTIVE" {
			return nil, clusterNotFound()
		}
		return item.Value.Cluster.Tags, nil
	case "container-instance":
		item, ok := a.store.Instances.Get(r.key)
		if !ok {
			return nil, resourceNotFound()
		}
		return item.Value.Instance.Tags, nil
	case "service":
		item, ok := a.store.Services.Get(r.key)
		if !ok || item.Value.Service.Status == statusInactive {
			return nil, resourceNotFound()
		}
		return item.Value.Service.Tags, nil
	default:
		item, ok := a.store.TaskDefinitions.Get(r.key)
		if !ok || item.Value.TaskDefinition.Status == ecs.TaskDefinitionStatusDELETEINPROGRESS {
			return nil, resourceNotFound()
		}
		return item.Value.Tags, nil
	}
}

func (a *API) updateTags(ctx context.Context, arn string, change func([]ecs.Tag) ([]ecs.Tag, error)) error {
	r, err := a.resolveTaggable(arn)
	if err != nil {
		return err
	}
	switch r.kind {
	case "cluster":
		_, err = a.store.Clusters.Update(ctx, r.key, func(rec *store.ClusterRecord) error {
			if rec.Cluster.Status != "ACTIVE" {
				return clusterNotFound()
			}
			tags, err := change(rec.Cluster.Tags)
			rec.Cluster.Tags = tags
			return err
		})
		if err == store.ErrNotFound {
			return clusterNotFound()
		}
	case "container-instance":
		_, err = a.store.Instances.Update(ctx, r.key, func(rec *store.InstanceRecord) error {
			tags, err := change(rec.Instance.Tags)
			rec.Instance.Tags = tags
			return err
		})
		if err == store.ErrNotFound {
			return resourceNotFound()
		}
	case "service":
		_, err = a.store.Services.Update(ctx, r.key, func(rec *store.ServiceRecord) error {
			if rec.Service.Status == statusInactive {
				return resourceNotFound()
			}
			tags, err := change(rec.Service.Tags)
			rec.Service.Tags = tags
			return err
		})
		if err == store.ErrNotFound {
			return resourceNotFound()
		}
	default:
		_, err = a.store.TaskDefinitions.Update(ctx, r.key, func(rec *store.TaskDefinitionRecord) error {
			if rec.TaskDefinition.Status == ecs.TaskDefinitionStatusDELETEINPROGRESS {
				return resourceNotFound()
			}
			tags, err := change(rec.Tags)
			rec.Tags = tags
			return err
		})
		if err == store.ErrNotFound {
			return resourceNotFound()
		}
	}
	return wireError(err)
}

// instanceKeyFromARN finds the store key of a container instance ARN's
// resource part: "cluster/id" in the long form, "id" in the short one. It
// returns "" when no instance has that ID.
func (a *API) instanceKeyFromARN(resource string) string {
	if strings.Contains(resource, "/") {
		return resource
	}
	if items := a.store.Instances.By(store.ByID, resource); len(items) == 1 {
		return items[0].Key
	}
	return ""
}
