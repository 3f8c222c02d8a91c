package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"testing"

	"github.com/gantry-dev/gantry/internal/awsapi"
	"github.com/gantry-dev/gantry/internal/ecs"
	"github.com/gantry-dev/gantry/internal/store"
	"github.com/gantry-dev/gantry/internal/store/storetest"
)

// FuzzServiceRequests decodes arbitrary bodies as CreateService and
// UpdateService requests and checks them as the handlers do: a request
// is refused with a 400 that says why, or it makes a service whose
// deployments and history agree — never a panic or a half-made record.
func FuzzServiceRequests(f *testing.F) {
	for _, seed := range []string{
		`{"serviceName":"web","taskDefinition":"web","desiredCount":2}`,
		`{"serviceName":"d","taskDefinition":"web:1","schedulingStrategy":"DAEMON","deploymentConfiguration":{"maximumPercent":100}}`,
		`{"serviceName":"f","taskDefinition":"api","desiredCount":1,"launchType":"FARGATE","platformVersion":"LATEST","networkConfiguration":{"awsvpcConfiguration":{"subnets":["s"]}}}`,
		`{"service":"web","desiredCount":3,"forceNewDeployment":true,"loadBalancers":[],"placementStrategy":[{"type":"spread","field":"host"}]}`,
		`{"serviceName":"x","taskDefinition":"web","desiredCount":1,"capacityProviderStrategy":[{"capacityProvider":"FARGATE"}],"deploymentConfiguration":{"deploymentCircuitBreaker":{"enable":true,"rollback":true},"alarms":{"alarmNames":["a"],"enable":true}}}`,
		`{"serviceName":"y","taskDefinition":"web","desiredCount":-1,"placementConstraints":[{"type":"memberOf","expression":"attribute:ecs.os-type == linux"}]}`,
	} {
		f.Add([]byte(seed))
	}
	a, cl, base := fuzzFixture(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		var create ecs.CreateServiceRequest
		if json.Unmarshal(body, &create) == nil {
			rec, err := a.newService(cl, &create)
			checkServiceOutcome(t, rec, err)
		}
		var update ecs.UpdateServiceRequest
		if json.Unmarshal(body, &update) == nil {
			rec, err := store.Clone(base)
			if err != nil {
				t.Fatal(err)
			}
			err = a.applyUpdate(cl, rec, &update)
			checkServiceOutcome(t, rec, err)
		}
	})
}

func checkServiceOutcome(t *testing.T, rec *store.ServiceRecord, err error) {
	t.Helper()
	if err != nil {
		var e *awsapi.Error
		if !errors.As(err, &e) || e.Status != http.StatusBadRequest || e.Message == "" {
			t.Fatalf("refusal %#v is not a 400 with a message", err)
		}
		return
	}
	s := &rec.Service
	primaries, inProgress := 0, 0
	for _, d := range s.Deployments {
		if d.Status == deploymentPrimary {
			primaries++
		}
	}
	for _, h := range rec.History {
		if h.Status == ecs.ServiceDeploymentStatusINPROGRESS {
			inProgress++
		}
	}
	switch {
	case len(s.Deployments) == 0 || s.Deployments[0].Status != deploymentPrimary || primaries != 1:
		t.Fatalf("deployments %+v: want exactly one PRIMARY, first", s.Deployments)
	case len(rec.History) == 0 || rec.History[0].ServiceDeploymentArn != s.CurrentServiceDeployment || inProgress > 1:
		t.Fatalf("history %+v does not lead with the current deployment %s", rec.History, s.CurrentServiceDeployment)
	case s.DeploymentConfiguration == nil || s.DeploymentConfiguration.MaximumPercent == nil || s.DeploymentConfiguration.MinimumHealthyPercent == nil:
		t.Fatalf("deploymentConfiguration %+v lacks its defaults", s.DeploymentConfiguration)
	case !sameDefinition(s, s):
		t.Fatal("a service differs from itself")
	}
	if _, err := json.Marshal(rec); err != nil {
		t.Fatalf("record does not encode: %v", err)
	}
}

// fuzzFixture is a cluster with an EC2 task definition "web" and a
// Fargate one "api", and a service of "web" to update.
func fuzzFixture(f *testing.F) (*API, *ecs.Cluster, *store.ServiceRecord) {
	ctx := context.Background()
	a := New(Options{Store: storetest.New(f), Region: "us-east-1", Account: "000000000000"})
	if _, err := a.CreateCluster(ctx, &ecs.CreateClusterRequest{ClusterName: "fuzz"}); err != nil {
		f.Fatal(err)
	}
	for _, td := range []string{
		`{"family":"web","containerDefinitions":[{"name":"app","image":"busybox","memory":64,"portMappings":[{"containerPort":80}]}]}`,
		`{"family":"api","networkMode":"awsvpc","requiresCompatibilities":["FARGATE"],"cpu":"256","memory":"512","containerDefinitions":[{"name":"app","image":"busybox"}]}`,
	} {
		var req ecs.RegisterTaskDefinitionRequest
		if err := json.Unmarshal([]byte(td), &req); err != nil {
			f.Fatal(err)
		}
		if _, err := a.RegisterTaskDefinition(ctx, &req); err != nil {
			f.Fatal(err)
		}
	}
	cl, ok := a.store.Clusters.Get("fuzz")
	if !ok {
		f.Fatal("no cluster")
	}
	one := int32(1)
	base, err := a.newService(&cl.Value.Cluster, &ecs.CreateServiceRequest{ServiceName: "web", TaskDefinition: "web", DesiredCount: &one})
	if err != nil {
		f.Fatal(err)
	}
	return a, &cl.Value.Cluster, base
}
