package agentapi

import (
	"context"
	"net/http"
	"slices"
	"strings"

	"github.com/gantry-dev/gantry/internal/agentproto"
	"github.com/gantry-dev/gantry/internal/ecs"
	"github.com/gantry-dev/gantry/internal/store"
)

const (
	statusActive   = "ACTIVE"
	statusInactive = "INACTIVE"
)

// register makes a host known, or resumes its earlier registration, and
// hands out a fresh instance token. It needs the operator's AWS
// credentials, like every ECS action.
func (s *Server) register(w http.ResponseWriter, r *http.Request) {
	body, err := readBody(r)
	if err != nil {
		s.fail(w, err)
		return
	}
	if s.opts.Verifier != nil {
		if _, aerr := s.opts.Verifier.Verify(r, body, "ecs"); aerr != nil {
			s.fail(w, unauthorized(aerr.Code+": "+aerr.Message))
			return
		}
	}
	var req agentproto.RegisterRequest
	if err := decode(body, &req); err != nil {
		s.fail(w, err)
		return
	}
	resp, err := s.registerHost(r.Context(), &req)
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

func (s *Server) registerHost(ctx context.Context, req *agentproto.RegisterRequest) (*agentproto.RegisterResponse, error) {
	if err := checkResources(req.TotalResources); err != nil {
		return nil, err
	}
	var (
		table   *store.Table[store.InstanceRecord]
		cluster string
	)
	switch req.Capacity {
	case agentproto.CapacityInstance:
		name, err := ecs.ClusterName(req.Cluster)
		if err != nil {
			return nil, badRequest("cluster: %v", err)
		}
		c, ok := s.store.Clusters.Get(name)
		if !ok || c.Value.Cluster.Status != statusActive {
			return nil, &protoError{http.StatusNotFound, agentproto.CodeNotFound, "cluster " + name + " not found; create it first"}
		}
		table, cluster = s.store.Instances, name
	case agentproto.CapacityFargate:
		table = s.store.Capacity
	default:
		return nil, badRequest("unknown capacity %q", req.Capacity)
	}
	id := resumableID(table, req, cluster)
	key := id
	if cluster != "" {
		key = cluster + "/" + id
	}
	token, hash := newToken(id)
	now := ecs.At(s.opts.Now())
	fill := func(rec *store.InstanceRecord) {
		ci := &rec.Instance
		rec.ID, rec.Cluster, rec.TokenHash = id, cluster, hash
		ci.ContainerInstanceArn = s.opts.ARNs.ContainerInstance(clusterOrCapacity(cluster), id)
		ci.Status = statusActive
		ci.AgentConnected = true
		ci.RegisteredResources = req.TotalResources
		vi := req.VersionInfo
		ci.VersionInfo = &vi
		ci.Attributes = mergeAttributes(ci.Attributes, req.Attributes)
		if len(req.Tags) > 0 {
			ci.Tags = req.Tags
		}
		ci.Version++
	}
	if it, ok := table.Get(key); ok {
		if _, err := table.Update(ctx, key, func(rec *store.InstanceRecord) error { fill(rec); return nil }); err != nil {
			return nil, err
		}
		s.log.Info("agent resumed its registration", "instance", it.Value.Instance.ContainerInstanceArn)
	} else {
		rec := &store.InstanceRecord{Instance: ecs.ContainerInstance{RegisteredAt: now}}
		fill(rec)
		if _, err := s.store.Commit(ctx, table.Create(key, rec)); err != nil {
			return nil, err
		}
		s.log.Info("agent registered", "instance", rec.Instance.ContainerInstanceArn, "capacity", req.Capacity)
	}
	s.touch(id)
	return &agentproto.RegisterResponse{
		ContainerInstanceArn: s.opts.ARNs.ContainerInstance(clusterOrCapacity(cluster), id),
		ClusterArn:           s.opts.ARNs.Cluster(clusterOrCapacity(cluster)),
		Token:                token,
	}, nil
}

// fargateCluster names Fargate capacity in ARNs; it is never a cluster.
const fargateCluster = "fargate"

func clusterOrCapacity(cluster string) string {
	if cluster == "" {
		return fargateCluster
	}
	return cluster
}

// resumableID is the ID of the registration the agent asks to resume when
// that is still registered in the same place, or a new ID.
func resumableID(table *store.Table[store.InstanceRecord], req *agentproto.RegisterRequest, cluster string) string {
	arn, ok := ecs.ParseARN(req.ContainerInstanceArn)
	if !ok {
		return ecs.NewID()
	}
	id := arn.Resource[strings.LastIndex(arn.Resource, "/")+1:]
	key := id
	if cluster != "" {
		key = cluster + "/" + id
	}
	if it, ok := table.Get(key); ok && it.Value.Instance.Status != statusInactive {
		return id
	}
	return ecs.NewID()
}

func checkResources(rs []ecs.Resource) error {
	for _, name := range []string{"CPU", "MEMORY"} {
		i := slices.IndexFunc(rs, func(r ecs.Resource) bool { return r.Name == name })
		if i < 0 || rs[i].IntegerValue <= 0 {
			return badRequest("totalResources must include a positive %s", name)
		}
	}
	return nil
}

// mergeAttributes takes the agent's attributes over what the record has,
// keeping attributes added with PutAttributes that the agent doesn't set.
func mergeAttributes(have, reported []ecs.Attribute) []ecs.Attribute {
	out := slices.Clone(reported)
	for _, a := range have {
		if !slices.ContainsFunc(out, func(b ecs.Attribute) bool { return b.Name == a.Name }) {
			out = append(out, a)
		}
	}
	for i := range out {
		out[i].TargetType, out[i].TargetId = "", ""
	}
	slices.SortFunc(out, func(a, b ecs.Attribute) int { return strings.Compare(a.Name, b.Name) })
	return out
}
