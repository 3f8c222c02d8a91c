package api_test

import (
	"context"
	"errors"
	"go/token"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"

	"github.com/gantry-dev/gantry/internal/testenv"
)

// The region and account every test server uses by default.
const arnPrefix = "arn:aws:ecs:us-east-1:000000000000:"

func clusterARN(name string) string { return arnPrefix + "cluster/" + name }

func taskDefARN(familyRev string) string { return arnPrefix + "task-definition/" + familyRev }

// startECS starts a server for one test function and returns a client for
// it, keeping enough idle connections open for 32 concurrent callers.
//
// The client's idle connections are closed before the server stops: the
// HTTP server waits up to five seconds for connections that never sent a
// request, which the client's transport leaves behind when calls race.
func startECS(t testing.TB) (*testenv.Server, *ecs.Client) {
	t.Helper()
	srv := testenv.StartServer(t)
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns, tr.MaxIdleConnsPerHost = 64, 64
	t.Cleanup(tr.CloseIdleConnections) // runs before the server's own cleanup
	o := testenv.ECS(srv.URL()).Options()
	o.HTTPClient = &http.Client{Transport: tr}
	return srv, ecs.New(o)
}

// ignoreUnexported lets cmp compare SDK shapes, which all carry an
// unexported zero-size marker field.
var ignoreUnexported = cmp.FilterPath(func(p cmp.Path) bool {
	sf, ok := p.Last().(cmp.StructField)
	return ok && !token.IsExported(sf.Name())
}, cmp.Ignore())

// wantAPIError checks that err is an AWS error with code whose message
// contains every one of msgParts.
func wantAPIError(t testing.TB, err error, code string, msgParts ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want %s", code)
	}
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) {
		t.Fatalf("got %v (%T), want an API error %s", err, err, code)
	}
	if apiErr.ErrorCode() != code {
		t.Fatalf("error code = %s (%q), want %s", apiErr.ErrorCode(), apiErr.ErrorMessage(), code)
	}
	for _, part := range msgParts {
		if !strings.Contains(apiErr.ErrorMessage(), part) {
			t.Errorf("%s message %q does not contain %q", code, apiErr.ErrorMessage(), part)
		}
	}
}

// mustCreateCluster creates a cluster or fails the test.
func mustCreateCluster(t testing.TB, c *ecs.Client, in *ecs.CreateClusterInput) *types.Cluster {
	t.Helper()
	out, err := c.CreateCluster(context.Background(), in)
	if err != nil {
		t.Fatalf("CreateCluster(%s): %v", aws.ToString(in.ClusterName), err)
	}
	return out.Cluster
}

// simpleTaskDef is the smallest definition ECS accepts for family.
func simpleTaskDef(family string) *ecs.RegisterTaskDefinitionInput {
	return &ecs.RegisterTaskDefinitionInput{
		Family: aws.String(family),
		ContainerDefinitions: []types.ContainerDefinition{{
			Name:   aws.String("app"),
			Image:  aws.String("busybox:1.36"),
			Memory: aws.Int32(64),
		}},
	}
}

// mustRegister registers in or fails the test.
func mustRegister(t testing.TB, c *ecs.Client, in *ecs.RegisterTaskDefinitionInput) *types.TaskDefinition {
	t.Helper()
	out, err := c.RegisterTaskDefinition(context.Background(), in)
	if err != nil {
		t.Fatalf("RegisterTaskDefinition(%s): %v", aws.ToString(in.Family), err)
	}
	return out.TaskDefinition
}

// mustDeregister deregisters familyRev or fails the test.
func mustDeregister(t testing.TB, c *ecs.Client, familyRev string) *types.TaskDefinition {
	t.Helper()
	out, err := c.DeregisterTaskDefinition(context.Background(), &ecs.DeregisterTaskDefinitionInput{TaskDefinition: aws.String(familyRev)})
	if err != nil {
		t.Fatalf("DeregisterTaskDefinition(%s): %v", familyRev, err)
	}
	return out.TaskDefinition
}
