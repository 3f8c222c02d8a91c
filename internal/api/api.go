// Package api implements the ECS actions: each handler decodes, validates,
// reads the store's cache or commits to the store, and answers in ECS's
// shapes. Protocol concerns (routing, signing, error encoding) belong to
// awsapi; persistence to store. It must not import server or cmd packages.
package api

import (
	"log/slog"
	"sync"
	"time"

	"github.com/gantry-dev/gantry/internal/awsapi"
	"github.com/gantry-dev/gantry/internal/controller"
	"github.com/gantry-dev/gantry/internal/ecs"
	"github.com/gantry-dev/gantry/internal/store"
)

// ECS protocol constants.
const (
	TargetPrefix = "AmazonEC2ContainerServiceV20141113"
	SigningName  = "ecs"
)

// Options configure the ECS API.
type Options struct {
	Store   *store.Store
	Region  string
	Account string
	Logger  *slog.Logger
	Now     func() time.Time // defaults to time.Now
	// Scheduler places tasks; RunTask and StartTask need it running.
	Scheduler *controller.Scheduler
}

// API serves the ECS actions.
type API struct {
	store   *store.Store
	arns    ecs.ARNs
	account string
	log     *slog.Logger
	now     func() time.Time

	// familyLocks serialises registrations within one family on this
	// server, so concurrent registrations queue instead of retrying on
	// conflicts; the store's revision checks still guard other servers.
	familyLocks sync.Map // family -> *sync.Mutex

	// sched places every task this server creates.
	sched *controller.Scheduler
}

// New returns the ECS API over a store.
func New(opts Options) *API {
	a := &API{
		store:   opts.Store,
		arns:    ecs.ARNs{Region: opts.Region, Account: opts.Account},
		account: opts.Account,
		log:     opts.Logger,
		now:     opts.Now,
		sched:   opts.Scheduler,
	}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	if a.now == nil {
		a.now = time.Now
	}
	return a
}

// Service is the ECS action table for the protocol layer.
func (a *API) Service() awsapi.Service {
	return awsapi.Service{
		TargetPrefix:      TargetPrefix,
		SigningName:       SigningName,
		InternalErrorCode: "ServerException",
		Ops: map[string]awsapi.Op{
			"CreateCluster":              awsapi.Handle(a.CreateCluster),
			"DescribeClusters":           awsapi.Handle(a.DescribeClusters),
			"ListClusters":               awsapi.Handle(a.ListClusters),
			"DeleteCluster":              awsapi.Handle(a.DeleteCluster),
			"UpdateCluster":              awsapi.Handle(a.UpdateCluster),
			"UpdateClusterSettings":      awsapi.Handle(a.UpdateClusterSettings),
			"RegisterTaskDefinition":     awsapi.Handle(a.RegisterTaskDefinition),
			"DescribeTaskDefinition":     awsapi.Handle(a.DescribeTaskDefinition),
			"ListTaskDefinitions":        awsapi.Handle(a.ListTaskDefinitions),
			"ListTaskDefinitionFamilies": awsapi.Handle(a.ListTaskDefinitionFamilies),
			"DeregisterTaskDefinition":   awsapi.Handle(a.DeregisterTaskDefinition),
			"DeleteTaskDefinitions":      awsapi.Handle(a.DeleteTaskDefinitions),
			"TagResource":                awsapi.Handle(a.TagResource),
			"UntagResource":              awsapi.Handle(a.UntagResource),
			"ListTagsForResource":        awsapi.Handle(a.ListTagsForResource),
			"RunTask":                    awsapi.Handle(a.RunTask),
			"StartTask":                  awsapi.Handle(a.StartTask),
			"StopTask":                   awsapi.Handle(a.StopTask),
			"DescribeTasks":              awsapi.Handle(a.DescribeTasks),
			"ListTasks":                  awsapi.Handle(a.ListTasks),

			"DescribeContainerInstances":    awsapi.Handle(a.DescribeContainerInstances),
			"ListContainerInstances":        awsapi.Handle(a.ListContainerInstances),
			"DeregisterContainerInstance":   awsapi.Handle(a.DeregisterContainerInstance),
			"UpdateContainerInstancesState": awsapi.Handle(a.UpdateContainerInstancesState),
			"PutAttributes":                 awsapi.Handle(a.PutAttributes),
			"DeleteAttributes":              awsapi.Handle(a.DeleteAttributes),
			"ListAttributes":                awsapi.Handle(a.ListAttributes),

			"CreateService":              awsapi.Handle(a.CreateService),
			"UpdateService":              awsapi.Handle(a.UpdateService),
			"DeleteService":              awsapi.Handle(a.DeleteService),
			"DescribeServices":           awsapi.Handle(a.DescribeServices),
			"ListServices":               awsapi.Handle(a.ListServices),
			"ListServiceDeployments":     awsapi.Handle(a.ListServiceDeployments),
			"DescribeServiceDeployments": awsapi.Handle(a.DescribeServiceDeployments),
		},
	}
}
