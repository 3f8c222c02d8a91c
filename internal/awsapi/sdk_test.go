package awsapi

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"
)

// A tiny fake ECS: just enough shapes for the real client to talk to.
type listClustersRequest struct {
	MaxResults *int32  `json:"maxResults,omitempty"`
	NextToken  *string `json:"nextToken,omitempty"`
}

type listClustersResponse struct {
	ClusterArns []string `json:"clusterArns"`
	NextToken   *string  `json:"nextToken,omitempty"`
}

type deleteClusterRequest struct {
	Cluster *string `json:"cluster,omitempty"`
}

type deleteClusterResponse struct{}

// fakeECS records the request IDs its operations saw.
type fakeECS struct {
	mu   sync.Mutex
	seen []string
}

func (f *fakeECS) record(ctx context.Context) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.seen = append(f.seen, RequestID(ctx))
}

func (f *fakeECS) lastRequestID() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.seen[len(f.seen)-1]
}

func (f *fakeECS) service() Service {
	return Service{
		TargetPrefix: ecsPrefix, SigningName: "ecs", InternalErrorCode: "ServerException",
		Ops: map[string]Op{
			"ListClusters": Handle(func(ctx context.Context, req *listClustersRequest) (*listClustersResponse, error) {
				f.record(ctx)
				p, _ := PrincipalFrom(ctx)
				return &listClustersResponse{ClusterArns: []string{"arn:aws:ecs:us-east-1:000000000000:cluster/" + p.Name}}, nil
			}),
			"DeleteCluster": Handle(func(ctx context.Context, req *deleteClusterRequest) (*deleteClusterResponse, error) {
				f.record(ctx)
				if req.Cluster != nil && *req.Cluster == "broken" {
					return nil, errors.New("store: lost quorum")
				}
				return nil, NewError(http.StatusBadRequest, "ClusterNotFoundException", "Cluster not found.")
			}),
		},
	}
}

func newECSClient(url string, creds aws.Credentials) *ecs.Client {
	cfg := aws.Config{
		Region:           "us-east-1",
		Credentials:      credentials.NewStaticCredentialsProvider(creds.AccessKeyID, creds.SecretAccessKey, creds.SessionToken),
		RetryMaxAttempts: 1, // errors here are final; retries would only slow the test
	}
	return ecs.NewFromConfig(cfg, func(o *ecs.Options) { o.BaseEndpoint = aws.String(url) })
}

func TestSDKEndToEnd(t *testing.T) {
	t.Parallel()
	fake := &fakeECS{}
	srv := httptest.NewServer(NewHandler(Options{
		Services: []Service{fake.service()},
		Verifier: &Verifier{Keys: testKeyring(t)},
	}))
	t.Cleanup(srv.Close)
	good := aws.Credentials{AccessKeyID: otherPrincipal.AccessKeyID, SecretAccessKey: otherPrincipal.SecretAccessKey}
	client := newECSClient(srv.URL, good)

	t.Run("success", func(t *testing.T) {
		out, err := client.ListClusters(t.Context(), &ecs.ListClustersInput{MaxResults: aws.Int32(10)})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{"arn:aws:ecs:us-east-1:000000000000:cluster/ci"}, out.ClusterArns); diff != "" {
			t.Errorf("clusterArns (-want +got):\n%s", diff)
		}
		id, ok := awsmiddleware.GetRequestIDMetadata(out.ResultMetadata)
		if !ok || id != fake.lastRequestID() {
			t.Errorf("SDK request id %q, handler saw %q", id, fake.lastRequestID())
		}
	})

	t.Run("session credentials", func(t *testing.T) {
		withToken := good
		withToken.SessionToken = "FwoGZXIvYXdzEJr//////////session"
		if _, err := newECSClient(srv.URL, withToken).ListClusters(t.Context(), &ecs.ListClustersInput{}); err != nil {
			t.Fatal(err)
		}
	})

	tests := []struct {
		name        string
		call        func(context.Context) error
		wantCode    string
		wantMessage string
		wantStatus  int
		handled     bool // the operation ran and saw the request id
	}{
		{
			name: "modeled error",
			call: func(ctx context.Context) error {
				_, err := client.DeleteCluster(ctx, &ecs.DeleteClusterInput{Cluster: aws.String("nope")})
				return err
			},
			wantCode: "ClusterNotFoundException", wantMessage: "Cluster not found.", wantStatus: 400, handled: true,
		},
		{
			name: "internal error",
			call: func(ctx context.Context) error {
				_, err := client.DeleteCluster(ctx, &ecs.DeleteClusterInput{Cluster: aws.String("broken")})
				return err
			},
			wantCode: "ServerException", wantMessage: internalErrorMessage, wantStatus: 500, handled: true,
		},
		{
			name: "wrong secret",
			call: func(ctx context.Context) error {
				bad := good
				bad.SecretAccessKey = testPrincipal.SecretAccessKey
				_, err := newECSClient(srv.URL, bad).ListClusters(ctx, &ecs.ListClustersInput{})
				return err
			},
			wantCode: codeInvalidSignature, wantMessage: msgSignatureInvalid, wantStatus: 400,
		},
		{
			name: "unknown key",
			call: func(ctx context.Context) error {
				_, err := newECSClient(srv.URL, aws.Credentials{AccessKeyID: "AKIANOBODY", SecretAccessKey: "x"}).
					ListClusters(ctx, &ecs.ListClustersInput{})
				return err
			},
			wantCode: codeUnrecognized, wantMessage: msgUnrecognized, wantStatus: 400,
		},
		{
			name: "operation the fake does not serve",
			call: func(ctx context.Context) error {
				_, err := client.ListServices(ctx, &ecs.ListServicesInput{})
				return err
			},
			wantCode: codeUnknownOperation, wantMessage: `Operation "AmazonEC2ContainerServiceV20141113.ListServices" is not supported`, wantStatus: 400,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call(t.Context())
			apiErr, ok := errors.AsType[smithy.APIError](err)
			if !ok {
				t.Fatalf("err = %v, want a smithy.APIError", err)
			}
			if apiErr.ErrorCode() != tt.wantCode || apiErr.ErrorMessage() != tt.wantMessage {
				t.Errorf("got %s %q, want %s %q", apiErr.ErrorCode(), apiErr.ErrorMessage(), tt.wantCode, tt.wantMessage)
			}
			respErr, ok := errors.AsType[*awshttp.ResponseError](err)
			if !ok {
				t.Fatalf("err = %v, want an *awshttp.ResponseError", err)
			}
			if respErr.HTTPStatusCode() != tt.wantStatus {
				t.Errorf("status %d, want %d", respErr.HTTPStatusCode(), tt.wantStatus)
			}
			if respErr.ServiceRequestID() == "" {
				t.Error("the SDK saw no request id")
			}
			if tt.handled && respErr.ServiceRequestID() != fake.lastRequestID() {
				t.Errorf("SDK request id %q, handler saw %q", respErr.ServiceRequestID(), fake.lastRequestID())
			}
		})
	}
}
