package api_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/ecs"

	"github.com/gantry-dev/gantry/internal/testenv"
)

// rawResponse is one answer read off the wire.
type rawResponse struct {
	status int
	header http.Header
	body   map[string]any
}

// rawCall sends body to action as a signed JSON 1.1 request, bypassing the
// SDK's serializers, so the test controls every byte.
func rawCall(t *testing.T, url, action, body string) rawResponse {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url+"/", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", "AmazonEC2ContainerServiceV20141113."+action)
	sum := sha256.Sum256([]byte(body))
	creds := aws.Credentials{AccessKeyID: testenv.AccessKeyID, SecretAccessKey: testenv.SecretAccessKey}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]), "ecs", testenv.Region, time.Now()); err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	out := rawResponse{status: resp.StatusCode, header: resp.Header}
	if err := json.Unmarshal(raw, &out.body); err != nil {
		t.Fatalf("%s answered %d with a body that is not a JSON object: %q", action, resp.StatusCode, raw)
	}
	return out
}

func TestProtocol(t *testing.T) {
	t.Parallel()
	srv, _ := startECS(t)

	errorsCases := []struct {
		name, action, body string
		status             int
		code               string
		msgParts           []string
	}{
		{"number for a string", "CreateCluster", `{"clusterName": 5}`, 400, "SerializationException", []string{"clusterName"}},
		{"string for a number", "ListClusters", `{"maxResults": "7"}`, 400, "SerializationException", []string{"maxResults"}},
		{"object for a list", "DescribeClusters", `{"clusters": {"a": 1}}`, 400, "SerializationException", []string{"clusters"}},
		{"fraction for an integer", "ListClusters", `{"maxResults": 1.5}`, 400, "SerializationException", []string{"maxResults"}},
		{"timestamp-free nested mismatch", "RegisterTaskDefinition",
			`{"family":"f","containerDefinitions":[{"name":"a","image":"i","memory":"lots"}]}`, 400, "SerializationException", []string{"memory"}},
		{"array body", "ListClusters", `[]`, 400, "SerializationException", nil},
		{"malformed JSON", "ListClusters", `{"maxResults": `, 400, "SerializationException", nil},
		{"unknown action", "LaunchRocket", `{}`, 400, "UnknownOperationException", []string{"LaunchRocket"}},
		{"ECS error", "DeleteCluster", `{"cluster":"nowhere"}`, 400, "ClusterNotFoundException", []string{"Cluster not found."}},
		{"validation error", "CreateCluster", `{"clusterName":"no spaces please"}`, 400, "InvalidParameterException", []string{"clusterName"}},
	}
	for _, tc := range errorsCases {
		t.Run(tc.name, func(t *testing.T) {
			r := rawCall(t, srv.URL(), tc.action, tc.body)
			if r.status != tc.status {
				t.Errorf("status = %d, want %d", r.status, tc.status)
			}
			if r.body["__type"] != tc.code {
				t.Errorf("__type = %v, want %s (body %v)", r.body["__type"], tc.code, r.body)
			}
			if got := r.header.Get("X-Amzn-ErrorType"); got != tc.code {
				t.Errorf("X-Amzn-ErrorType = %q, want %s", got, tc.code)
			}
			msg, _ := r.body["message"].(string)
			for _, part := range tc.msgParts {
				if !strings.Contains(msg, part) {
					t.Errorf("message %q does not name %q", msg, part)
				}
			}
		})
	}

	t.Run("unknown fields are ignored", func(t *testing.T) {
		r := rawCall(t, srv.URL(), "CreateCluster", `{"clusterName":"extra","futureField":{"x":[1,2]}}`)
		if r.status != 200 {
			t.Fatalf("status = %d, body %v", r.status, r.body)
		}
		if r.header.Get("x-amzn-RequestId") == "" || r.header.Get("Content-Type") != "application/x-amz-json-1.1" {
			t.Errorf("headers = %v", r.header)
		}
	})

	t.Run("empty body is an empty request", func(t *testing.T) {
		r := rawCall(t, srv.URL(), "ListClusters", ``)
		if r.status != 200 {
			t.Fatalf("status = %d, body %v", r.status, r.body)
		}
		if _, ok := r.body["clusterArns"].([]any); !ok {
			t.Errorf("clusterArns = %#v, want a list", r.body["clusterArns"])
		}
	})

	t.Run("timestamps are epoch-second numbers", func(t *testing.T) {
		r := rawCall(t, srv.URL(), "RegisterTaskDefinition",
			`{"family":"ts","containerDefinitions":[{"name":"a","image":"busybox","memory":32}]}`)
		if r.status != 200 {
			t.Fatalf("status = %d, body %v", r.status, r.body)
		}
		td, _ := r.body["taskDefinition"].(map[string]any)
		at, ok := td["registeredAt"].(float64)
		if !ok {
			t.Fatalf("registeredAt = %#v, want a JSON number", td["registeredAt"])
		}
		if d := time.Since(time.UnixMilli(int64(at * 1000))); d < -2*time.Second || d > 5*time.Second {
			t.Errorf("registeredAt = %v, %v from now", at, d)
		}
		for _, unset := range []string{"deregisteredAt", "deleteRequestedAt"} {
			if v, ok := td[unset]; ok {
				t.Errorf("%s = %v on an ACTIVE revision, want it left out", unset, v)
			}
		}
	})
}

// TestMemberNamesAreCaseSensitive: AWS JSON member names are exact; a
// member spelled differently is unknown and ignored, like any other.
func TestMemberNamesAreCaseSensitive(t *testing.T) {
	t.Skip("known limitation, not yet fixed: internal/awsapi decodes with encoding/json, which matches member names case-insensitively: " +
		`{"CLUSTERNAME":"x"} creates cluster x instead of default, and {"clusterName":"a","ClusterName":5} is a SerializationException`)
	t.Parallel()
	srv, _ := startECS(t)
	r := rawCall(t, srv.URL(), "CreateCluster", `{"clusterName":"exact","ClusterName":5}`)
	if r.status != 200 {
		t.Errorf("an unknown member ClusterName beside clusterName: status %d, body %v", r.status, r.body)
	}
	r = rawCall(t, srv.URL(), "CreateCluster", `{"CLUSTERNAME":"shouty"}`)
	cluster, _ := r.body["cluster"].(map[string]any)
	if r.status != 200 || cluster["clusterName"] != "default" {
		t.Errorf("CreateCluster with only an unknown member CLUSTERNAME: status %d, body %v; want the default cluster", r.status, r.body)
	}
}

func TestHealthAndMetrics(t *testing.T) {
	t.Parallel()
	srv, c := startECS(t)
	ctx := context.Background()

	resp, err := http.Get(srv.URL() + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("/healthz = %d %q, want 200", resp.StatusCode, body)
	}

	if _, err := c.ListClusters(ctx, &ecs.ListClustersInput{}); err != nil {
		t.Fatal(err)
	}
	_, err = c.DeleteCluster(ctx, &ecs.DeleteClusterInput{Cluster: aws.String("nowhere")})
	wantAPIError(t, err, "ClusterNotFoundException")

	resp, err = http.Get(srv.URL() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("/metrics = %d", resp.StatusCode)
	}
	for _, re := range []string{
		`(?m)^gantry_api_requests_total\{action="ListClusters",code=""\} [1-9]`,
		`(?m)^gantry_api_requests_total\{action="DeleteCluster",code="ClusterNotFoundException"\} [1-9]`,
		`(?m)^gantry_api_request_duration_seconds_count\{action="ListClusters"\} [1-9]`,
	} {
		if !regexp.MustCompile(re).Match(metrics) {
			t.Errorf("/metrics has no line matching %s", re)
		}
	}
	if !bytes.Contains(metrics, []byte("gantry_api_requests_total")) {
		t.Errorf("/metrics lacks gantry_api_requests_total:\n%s", metrics)
	}
}
