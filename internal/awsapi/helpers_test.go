package awsapi

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

var (
	testPrincipal = Principal{
		Name:            "default",
		AccessKeyID:     "AKIAGANTRYTEST000001",
		SecretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYTESTKEY0001",
	}
	otherPrincipal = Principal{
		Name:            "ci",
		AccessKeyID:     "AKIAGANTRYTEST000002",
		SecretAccessKey: "o3Q9Vb+zR1c/0TESTKEYTESTKEYTESTKEY000002",
	}
	// signedAt is when most test requests are signed; tests pin the
	// verifier's clock to it.
	signedAt = time.Date(2026, 3, 14, 15, 9, 26, 0, time.UTC)
)

const (
	ecsPrefix = "AmazonEC2ContainerServiceV20141113"

	// The header sets real clients sign (checked in TestVerifySDKSigned).
	sdkSignedHeaders = "amz-sdk-invocation-id;amz-sdk-request;content-length;content-type;host;x-amz-date;x-amz-target"
	cliSignedHeaders = "content-type;host;x-amz-date;x-amz-target"
)

func testKeyring(t testing.TB) *Keyring {
	t.Helper()
	k, err := NewKeyring(testPrincipal, otherPrincipal)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// client says which real client's header set a test request imitates.
type client int

const (
	goSDK  client = iota // aws-sdk-go-v2
	awsCLI               // the AWS CLI, v1 and v2
)

// signSpec describes a request signed with the SDK's own signer.
type signSpec struct {
	client  client
	creds   aws.Credentials
	service string
	region  string
	at      time.Time
	target  string
	body    string
	method  string
	path    string // with query, appended to the server URL

	contentType string // default application/x-amz-json-1.1
	omitTarget  bool   // send no X-Amz-Target
	contentSHA  bool   // send (and sign) X-Amz-Content-Sha256, as S3-style clients do
}

func (s signSpec) withDefaults() signSpec {
	if s.creds.AccessKeyID == "" {
		s.creds = aws.Credentials{AccessKeyID: testPrincipal.AccessKeyID, SecretAccessKey: testPrincipal.SecretAccessKey}
	}
	if s.service == "" {
		s.service = "ecs"
	}
	if s.region == "" {
		s.region = "us-east-1"
	}
	if s.at.IsZero() {
		s.at = signedAt
	}
	if s.target == "" {
		s.target = ecsPrefix + ".ListClusters"
	}
	if s.method == "" {
		s.method = http.MethodPost
	}
	if s.path == "" {
		s.path = "/"
	}
	if s.contentType == "" {
		s.contentType = contentTypeJSON11
	}
	return s
}

// request builds and signs a request to baseURL the way the chosen client
// would send it.
func (s signSpec) request(t testing.TB, baseURL string) *http.Request {
	t.Helper()
	s = s.withDefaults()
	req, err := http.NewRequest(s.method, baseURL+s.path, strings.NewReader(s.body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", s.contentType)
	if !s.omitTarget {
		req.Header.Set("X-Amz-Target", s.target)
	}
	length := req.ContentLength
	switch s.client {
	case goSDK:
		req.Header.Set("Amz-Sdk-Invocation-Id", "6f2c1d2e-8a4b-4c3d-9e0f-112233445566")
		req.Header.Set("Amz-Sdk-Request", "attempt=1; max=3")
	case awsCLI:
		req.ContentLength = 0 // the CLI does not sign Content-Length; the Go signer only signs it when > 0
	}
	sum := sha256.Sum256([]byte(s.body))
	if s.contentSHA {
		req.Header.Set("X-Amz-Content-Sha256", hex.EncodeToString(sum[:]))
	}
	err = v4.NewSigner().SignHTTP(context.Background(), s.creds, req, hex.EncodeToString(sum[:]), s.service, s.region, s.at)
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = length
	return req
}

// setBody replaces a request's body after signing.
func setBody(req *http.Request, body string) {
	req.Body = io.NopCloser(strings.NewReader(body))
	req.ContentLength = int64(len(body))
}

// verifyOnServer sends req over a real connection to a server that calls
// v.Verify, so Verify sees exactly what net/http hands a handler.
func verifyOnServer(t testing.TB, v *Verifier, signingName string, build func(t testing.TB, baseURL string) *http.Request) (Principal, *Error) {
	t.Helper()
	type result struct {
		p   Principal
		err *Error
	}
	results := make(chan result, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			t.Errorf("reading body: %v", err)
		}
		p, verr := v.Verify(r, body, signingName)
		results <- result{p, verr}
	}))
	defer srv.Close()
	resp, err := srv.Client().Do(build(t, srv.URL))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	r := <-results
	return r.p, r.err
}

func fixedClock(t time.Time) func() time.Time { return func() time.Time { return t } }
