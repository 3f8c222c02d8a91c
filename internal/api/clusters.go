package api

import (
	"context"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/gantry-dev/gantry/internal/ecs"
	"github.com/gantry-dev/gantry/internal/store"
)

var clusterNameRE = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,255}$`)

// Cluster statuses.
const (
	statusActive   = "ACTIVE"
	statusInactive = "INACTIVE"
)

// clusterUsage counts what lives in a cluster, split by launch type as
// ECS's statistics are. It is computed from the cache on every read, never
// stored, so it cannot drift.
type clusterUsage struct {
	instances int32 // registered: ACTIVE or DRAINING
	// activeTasks are tasks not yet STOPPED, whatever their status.
	activeTasks int32
	// Indexed by launch type: ec2 (EC2 and EXTERNAL) or fargate.
	runningTasks, pendingTasks, activeServices, drainingServices [2]int32
}

const (
	ec2 = iota
	fargate
)

func (u clusterUsage) statistics() []ecs.KeyValuePair {
	stat := func(name string, n int32) ecs.KeyValuePair {
		return ecs.KeyValuePair{Name: name, Value: strconv.Itoa(int(n))}
	}
	return []ecs.KeyValuePair{
		stat("runningEC2TasksCount", u.runningTasks[ec2]),
		stat("runningFargateTasksCount", u.runningTasks[fargate]),
		stat("pendingEC2TasksCount", u.pendingTasks[ec2]),
		stat("pendingFargateTasksCount", u.pendingTasks[fargate]),
		stat("activeEC2ServiceCount", u.activeServices[ec2]),
		stat("activeFargateServiceCount", u.activeServices[fargate]),
		stat("drainingEC2ServiceCount", u.drainingServices[ec2]),
		stat("drainingFargateServiceCount", u.drainingServices[fargate]),
	}
}

func sum(n [2]int32) int32 { return n[ec2] + n[fargate] }

// usage reports what lives in a cluster, from the instance, task and
// service caches (all keyed "<cluster>/…").
func (a *API) usage(cluster string) clusterUsage {
	var u clusterUsage
	prefix := cluster + "/"
	a.eachInstance(cluster, func(it *store.Item[store.InstanceRecord]) {
		if it.Value.Instance.Status != statusInactive {
			u.instances++
		}
	})
	a.store.Tasks.Ascend(prefix, func(it *store.Item[store.TaskRecord]) bool {
		if !strings.HasPrefix(it.Key, prefix) {
			return false
		}
		t := &it.Value.Task
		kind := ec2
		if t.LaunchType == ecs.LaunchTypeFARGATE {
			kind = fargate
		}
		switch t.LastStatus {
		case ecs.TaskRunning:
			u.runningTasks[kind]++
		case ecs.TaskPending:
			u.pendingTasks[kind]++
		}
		if it.Value.Holds() {
			u.activeTasks++
		}
		return true
	})
	a.countServices(cluster, &u)
	return u
}

// CreateCluster creates a cluster, or returns it unchanged if it is already
// active, as ECS does.
func (a *API) CreateCluster(ctx context.Context, req *ecs.CreateClusterRequest) (*ecs.CreateClusterResponse, error) {
	name := req.ClusterName
	if name == "" {
		name = "default"
	}
	if !clusterNameRE.MatchString(name) {
		return nil, invalidParameter("clusterName must match ^[a-zA-Z0-9\\-_]{1,255}$, but was %q.", name)
	}
	if err := validateTags("tags", req.Tags); err != nil {
		return nil, err
	}
	if _, err := clusterSettings(nil, req.Settings); err != nil {
		return nil, err
	}
	if err := validateCapacityProviders(req.CapacityProviders, req.DefaultCapacityProviderStrategy); err != nil {
		return nil, err
	}
	c := ecs.Cluster{
		ClusterArn:                      a.arns.Cluster(name),
		ClusterName:                     name,
		Status:                          statusActive,
		Configuration:                   req.Configuration,
		Tags:                            req.Tags,
		Settings:                        mustSettings(nil, req.Settings),
		CapacityProviders:               req.CapacityProviders,
		DefaultCapacityProviderStrategy: req.DefaultCapacityProviderStrategy,
	}
	for {
		cur, exists := a.store.Clusters.Get(name)
		if exists && cur.Value.Cluster.Status == statusActive {
			return &ecs.CreateClusterResponse{Cluster: a.clusterView(&cur.Value.Cluster, writeClusterFields)}, nil
		}
		w := a.store.Clusters.Create(name, &store.ClusterRecord{Cluster: c})
		if exists { // a deleted cluster's name is free again
			w = a.store.Clusters.Replace(name, &store.ClusterRecord{Cluster: c}, cur.ModRevision)
		}
		_, err := a.store.Commit(ctx, w)
		if err == store.ErrConflict {
			continue // someone else created or changed it; look again
		}
		if err != nil {
			return nil, wireError(err)
		}
		return &ecs.CreateClusterResponse{Cluster: a.clusterView(&c, writeClusterFields)}, nil
	}
}

// defaultSettings is what a cluster reports for settings never set.
var defaultSettings = []ecs.ClusterSetting{{Name: ecs.ClusterSettingNameContainerInsights, Value: "disabled"}}

// clusterSettings applies settings on top of current ones; containerInsights
// is the only setting ECS has. A cluster stores settings only once set, as
// ECS echoes them only then.
func clusterSettings(current, set []ecs.ClusterSetting) ([]ecs.ClusterSetting, error) {
	if len(set) == 0 {
		return current, nil
	}
	out := slices.Clone(current)
	if len(out) == 0 {
		out = slices.Clone(defaultSettings)
	}
	for i, s := range set {
		if s.Name != ecs.ClusterSettingNameContainerInsights {
			return nil, invalidParameter("settings[%d].name %q is not valid; the only cluster setting is containerInsights.", i, s.Name)
		}
		switch s.Value {
		case "enhanced", "enabled", "disabled":
		default:
			return nil, invalidParameter("settings[%d].value %q is not valid for containerInsights; use enhanced, enabled or disabled.", i, s.Value)
		}
		out[0].Value = s.Value
	}
	return out, nil
}

// mustSettings is clusterSettings for settings already validated.
func mustSettings(current, set []ecs.ClusterSetting) []ecs.ClusterSetting {
	out, _ := clusterSettings(current, set)
	return out
}

// validateCapacityProviders accepts the built-in Fargate providers, the only
// capacity providers Gantry knows.
func validateCapacityProviders(names []string, strategy []ecs.CapacityProviderStrategyItem) error {
	known := func(n string) bool { return n == "FARGATE" || n == "FARGATE_SPOT" }
	for i, n := range names {
		if !known(n) {
			return invalidParameter("capacityProviders[%d]: the capacity provider %q does not exist.", i, n)
		}
	}
	for i, s := range strategy {
		if !slices.Contains(names, s.CapacityProvider) {
			return invalidParameter("defaultCapacityProviderStrategy[%d]: capacity provider %q is not associated with the cluster.", i, s.CapacityProvider)
		}
		if s.Weight < 0 || s.Weight > 1000 || s.Base < 0 || s.Base > 100000 {
			return invalidParameter("defaultCapacityProviderStrategy[%d]: weight must be 0-1000 and base 0-100000.", i)
		}
	}
	return nil
}

// clusterFields are the optional parts of a cluster a Describe includes.
type clusterFields struct {
	tags, settings, statistics, configurations, attachments bool
	// storedSettings shows settings once set, as write actions echo them;
	// Describe shows them only when asked, defaults included.
	storedSettings bool
}

// writeClusterFields is what Create/Update/Delete answers show: the whole
// cluster as stored, without computed statistics.
var writeClusterFields = clusterFields{tags: true, configurations: true, attachments: true, storedSettings: true}

// clusterView is a cluster as a response shows it: live counts, and only
// the optional parts asked for.
func (a *API) clusterView(c *ecs.Cluster, f clusterFields) *ecs.Cluster {
	v := *c
	u := a.usage(c.ClusterName)
	v.RegisteredContainerInstancesCount = u.instances
	v.RunningTasksCount = sum(u.runningTasks)
	v.PendingTasksCount = sum(u.pendingTasks)
	v.ActiveServicesCount = sum(u.activeServices)
	// Statistics and tags are always present, empty unless asked for;
	// settings appear when set or asked for.
	v.Statistics = []ecs.KeyValuePair{}
	if f.statistics {
		v.Statistics = u.statistics()
	}
	v.Tags = []ecs.Tag{}
	if f.tags {
		v.Tags = nonNil(c.Tags)
	}
	switch {
	case f.settings && len(v.Settings) == 0:
		v.Settings = defaultSettings
	case !f.settings && !f.storedSettings:
		v.Settings = nil
	}
	if !f.configurations {
		v.Configuration = nil
	}
	if !f.attachments {
		v.Attachments = nil
	}
	return &v
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// DescribeClusters describes clusters by name or ARN; unknown ones come back
// as failures, not errors.
func (a *API) DescribeClusters(ctx context.Context, req *ecs.DescribeClustersRequest) (*ecs.DescribeClustersResponse, error) {
	refs := req.Clusters
	if len(refs) == 0 {
		refs = []string{""}
	}
	if len(refs) > 100 {
		return nil, invalidParameter("clusters can name at most 100 clusters, got %d.", len(refs))
	}
	var f clusterFields
	for i, inc := range req.Include {
		switch inc {
		case ecs.ClusterFieldTAGS:
			f.tags = true
		case ecs.ClusterFieldSETTINGS:
			f.settings = true
		case ecs.ClusterFieldSTATISTICS:
			f.statistics = true
		case ecs.ClusterFieldCONFIGURATIONS:
			f.configurations = true
		case ecs.ClusterFieldATTACHMENTS:
			f.attachments = true
		default:
			return nil, invalidParameter("include[%d] %q is not valid; use one of %v.", i, inc, ecs.ClusterField("").Values())
		}
	}
	out := &ecs.DescribeClustersResponse{Clusters: []ecs.Cluster{}, Failures: []ecs.Failure{}}
	for _, ref := range refs {
		name, err := ecs.ClusterName(ref)
		if err != nil {
			out.Failures = append(out.Failures, ecs.Failure{Arn: ref, Reason: "MISSING"})
			continue
		}
		item, ok := a.store.Clusters.Get(name)
		if !ok {
			out.Failures = append(out.Failures, ecs.Failure{Arn: a.arns.Cluster(name), Reason: "MISSING"})
			continue
		}
		out.Clusters = append(out.Clusters, *a.clusterView(&item.Value.Cluster, f))
	}
	return out, nil
}

// ListClusters lists active clusters in name order.
func (a *API) ListClusters(ctx context.Context, req *ecs.ListClustersRequest) (*ecs.ListClustersResponse, error) {
	p, err := parsePage("clusters", req.MaxResults, req.NextToken, defaultPageSize)
	if err != nil {
		return nil, err
	}
	c := collector{page: p}
	a.store.Clusters.Ascend(p.after, func(it *store.Item[store.ClusterRecord]) bool {
		if it.Value.Cluster.Status != statusActive {
			return true
		}
		return c.add(it.Key, it.Value.Cluster.ClusterArn)
	})
	return &ecs.ListClustersResponse{ClusterArns: nonNil(c.out), NextToken: c.next}, nil
}

// activeCluster resolves a cluster reference to an active cluster.
func (a *API) activeCluster(ref string) (*store.Item[store.ClusterRecord], error) {
	name, err := ecs.ClusterName(ref)
	if err != nil {
		return nil, invalidParameter("cluster: %v.", err)
	}
	item, ok := a.store.Clusters.Get(name)
	if !ok || item.Value.Cluster.Status != statusActive {
		return nil, clusterNotFound()
	}
	return item, nil
}

// DeleteCluster marks an empty cluster INACTIVE; it stays describable, and
// its name can be used again.
func (a *API) DeleteCluster(ctx context.Context, req *ecs.DeleteClusterRequest) (*ecs.DeleteClusterResponse, error) {
	if req.Cluster == "" {
		return nil, invalidParameter("cluster is required.")
	}
	name, err := ecs.ClusterName(req.Cluster)
	if err != nil {
		return nil, invalidParameter("cluster: %v.", err)
	}
	item, ok := a.store.Clusters.Get(name)
	if !ok {
		return nil, clusterNotFound()
	}
	if item.Value.Cluster.Status == statusInactive { // deleting twice succeeds
		return &ecs.DeleteClusterResponse{Cluster: a.clusterView(&item.Value.Cluster, writeClusterFields)}, nil
	}
	u := a.usage(name)
	switch {
	case u.instances > 0:
		return nil, awsError("ClusterContainsContainerInstancesException", "The Cluster cannot be deleted while Container Instances are active or draining.")
	case sum(u.activeServices)+sum(u.drainingServices) > 0:
		return nil, awsError("ClusterContainsServicesException", "The Cluster cannot be deleted while Services are active.")
	case u.activeTasks > 0:
		return nil, awsError("ClusterContainsTasksException", "The Cluster cannot be deleted while Tasks are active.")
	}
	// Not updateCluster, which refuses inactive clusters: a delete racing
	// with this one may have got there first, and deleting twice succeeds.
	rec, err := a.store.Clusters.Update(ctx, item.Key, func(r *store.ClusterRecord) error {
		r.Cluster.Status = statusInactive
		return nil
	})
	if err == store.ErrNotFound {
		return nil, clusterNotFound()
	}
	if err != nil {
		return nil, wireError(err)
	}
	return &ecs.DeleteClusterResponse{Cluster: a.clusterView(&rec.Cluster, writeClusterFields)}, nil
}

// updateCluster changes an active cluster.
func (a *API) updateCluster(ctx context.Context, name string, fn func(*ecs.Cluster) error) (*ecs.Cluster, error) {
	rec, err := a.store.Clusters.Update(ctx, name, func(r *store.ClusterRecord) error {
		if r.Cluster.Status != statusActive {
			return clusterNotFound()
		}
		return fn(&r.Cluster)
	})
	if err == store.ErrNotFound {
		return nil, clusterNotFound()
	}
	if err != nil {
		return nil, wireError(err)
	}
	return &rec.Cluster, nil
}

// UpdateCluster changes a cluster's settings, configuration and Service
// Connect defaults.
func (a *API) UpdateCluster(ctx context.Context, req *ecs.UpdateClusterRequest) (*ecs.UpdateClusterResponse, error) {
	c, err := a.changeCluster(ctx, req.Cluster, req.Settings, func(c *ecs.Cluster) {
		if req.Configuration != nil {
			c.Configuration = req.Configuration
		}
		if req.ServiceConnectDefaults != nil {
			c.ServiceConnectDefaults = &ecs.ClusterServiceConnectDefaults{Namespace: req.ServiceConnectDefaults.Namespace}
		}
	})
	if err != nil {
		return nil, err
	}
	return &ecs.UpdateClusterResponse{Cluster: c}, nil
}

// UpdateClusterSettings changes a cluster's settings.
func (a *API) UpdateClusterSettings(ctx context.Context, req *ecs.UpdateClusterSettingsRequest) (*ecs.UpdateClusterSettingsResponse, error) {
	if len(req.Settings) == 0 {
		return nil, invalidParameter("settings is required.")
	}
	c, err := a.changeCluster(ctx, req.Cluster, req.Settings, func(*ecs.Cluster) {})
	if err != nil {
		return nil, err
	}
	return &ecs.UpdateClusterSettingsResponse{Cluster: c}, nil
}

// changeCluster is the shared body of the two update actions: validate the
// reference and settings, then apply settings and fn in one update.
func (a *API) changeCluster(ctx context.Context, ref string, settings []ecs.ClusterSetting, fn func(*ecs.Cluster)) (*ecs.Cluster, error) {
	if ref == "" {
		return nil, invalidParameter("cluster is required.")
	}
	item, err := a.activeCluster(ref)
	if err != nil {
		return nil, err
	}
	if _, err := clusterSettings(nil, settings); err != nil {
		return nil, err
	}
	c, err := a.updateCluster(ctx, item.Key, func(c *ecs.Cluster) error {
		c.Settings = mustSettings(c.Settings, settings)
		fn(c)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return a.clusterView(c, writeClusterFields), nil
}
