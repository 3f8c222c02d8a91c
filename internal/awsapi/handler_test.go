package awsapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
)

type echoRequest struct {
	Cluster              *string `json:"cluster,omitempty"`
	ContainerDefinitions []struct {
		CPU *int32 `json:"cpu,omitempty"`
	} `json:"containerDefinitions,omitempty"`
}

type echoResponse struct {
	Cluster   string `json:"cluster"`
	RequestID string `json:"requestId"`
	Principal string `json:"principal"`
}

// testServer is a handler serving a small fake ECS, with what it logged and
// observed.
type testServer struct {
	*httptest.Server
	logs *syncBuffer

	mu       sync.Mutex
	observed []observation
}

type observation struct {
	Action, Code string
	Status       int
}

func newTestServer(t *testing.T, configure func(*Options)) *testServer {
	t.Helper()
	ts := &testServer{logs: &syncBuffer{}}
	ops := map[string]Op{
		"Echo": Handle(func(ctx context.Context, req *echoRequest) (*echoResponse, error) {
			p, _ := PrincipalFrom(ctx)
			out := &echoResponse{RequestID: RequestID(ctx), Principal: p.Name}
			if req.Cluster != nil {
				out.Cluster = *req.Cluster
			}
			return out, nil
		}),
		"NotFound": Handle(func(context.Context, *echoRequest) (*echoResponse, error) {
			return nil, NewError(http.StatusBadRequest, "ClusterNotFoundException", "Cluster not found.")
		}),
		"Fail": Handle(func(context.Context, *echoRequest) (*echoResponse, error) {
			return nil, errors.New("etcd: database on fire")
		}),
		"Panic": Handle(func(context.Context, *echoRequest) (*echoResponse, error) {
			panic("index out of range in the scheduler")
		}),
		"Nothing": Handle(func(context.Context, *echoRequest) (*echoResponse, error) { return nil, nil }),
	}
	opts := Options{
		Services: []Service{
			{TargetPrefix: ecsPrefix, SigningName: "ecs", InternalErrorCode: "ServerException", Ops: ops},
			{TargetPrefix: "Logs_20140328", SigningName: "logs", Ops: map[string]Op{"Echo": ops["Echo"]}},
		},
		Verifier: &Verifier{Keys: testKeyring(t)},
		Logger:   slog.New(slog.NewTextHandler(ts.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Observe: func(action, code string, status int, d time.Duration) {
			if d <= 0 {
				t.Errorf("Observe got duration %v", d)
			}
			ts.mu.Lock()
			defer ts.mu.Unlock()
			ts.observed = append(ts.observed, observation{action, code, status})
		},
	}
	if configure != nil {
		configure(&opts)
	}
	ts.Server = httptest.NewServer(NewHandler(opts))
	t.Cleanup(ts.Close)
	return ts
}

// post sends a request signed now by testPrincipal, optionally changed
// after signing.
func (ts *testServer) post(t *testing.T, target, body string, mutate func(*http.Request)) *http.Response {
	t.Helper()
	req := signSpec{client: goSDK, target: target, body: body, at: time.Now()}.request(t, ts.URL)
	if mutate != nil {
		mutate(req)
	}
	resp, err := ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// answer is a response reduced to what the protocol promises.
type answer struct {
	Status    int
	ErrorType string // X-Amzn-ErrorType header
	Body      errorBody
}

// readAnswer checks the headers every response carries and decodes an
// error body.
func readAnswer(t *testing.T, resp *http.Response) (answer, []byte) {
	t.Helper()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if ct := resp.Header.Get("Content-Type"); ct != contentTypeJSON11 {
		t.Errorf("Content-Type = %q, want %s", ct, contentTypeJSON11)
	}
	if id := resp.Header.Get(headerRequestID); uuid.Validate(id) != nil {
		t.Errorf("x-amzn-RequestId = %q, want a UUID", id)
	}
	a := answer{Status: resp.StatusCode, ErrorType: resp.Header.Get(headerErrorType)}
	if resp.StatusCode != http.StatusOK {
		if err := json.Unmarshal(raw, &a.Body); err != nil {
			t.Fatalf("error body %q: %v", raw, err)
		}
	}
	return a, raw
}

func TestHandlerErrors(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, func(o *Options) { o.MaxBodyBytes = 64 })
	tests := []struct {
		name    string
		resp    func(t *testing.T) *http.Response
		want    answer
		wantMsg string // substring of the body's message
		action  string // as observed
	}{
		{
			name: "unknown action",
			resp: func(t *testing.T) *http.Response { return ts.post(t, ecsPrefix+".DeleteEverything", "{}", nil) },
			want: answer{Status: 400, ErrorType: codeUnknownOperation}, wantMsg: `Operation "AmazonEC2ContainerServiceV20141113.DeleteEverything" is not supported`,
			action: actionUnknown,
		},
		{
			name: "unknown prefix",
			resp: func(t *testing.T) *http.Response {
				return ts.post(t, "Route53Domains_v20140515.ListDomains", "{}", nil)
			},
			want: answer{Status: 400, ErrorType: codeUnknownOperation}, wantMsg: "is not supported", action: actionUnknown,
		},
		{
			name: "missing target",
			resp: func(t *testing.T) *http.Response {
				return do(t, ts, signSpec{client: awsCLI, omitTarget: true, body: "{}", at: time.Now()}.request(t, ts.URL))
			},
			want: answer{Status: 400, ErrorType: codeUnknownOperation}, wantMsg: "Missing X-Amz-Target header", action: actionUnknown,
		},
		{
			name: "signed for another registered service",
			resp: func(t *testing.T) *http.Response {
				return do(t, ts, signSpec{client: goSDK, service: "logs", target: ecsPrefix + ".Echo", at: time.Now()}.request(t, ts.URL))
			},
			want: answer{Status: 400, ErrorType: codeInvalidSignature}, wantMsg: "Credential should be scoped to correct service: 'ecs'.",
			action: "Echo",
		},
		{
			name: "unknown target signed for any registered service",
			resp: func(t *testing.T) *http.Response {
				return do(t, ts, signSpec{client: goSDK, service: "logs", target: "Nope.Nothing", at: time.Now()}.request(t, ts.URL))
			},
			want: answer{Status: 400, ErrorType: codeUnknownOperation}, wantMsg: `Operation "Nope.Nothing" is not supported`,
			action: actionUnknown,
		},
		{
			name: "unknown target signed for no registered service",
			resp: func(t *testing.T) *http.Response {
				return do(t, ts, signSpec{client: goSDK, service: "s3", target: "Nope.Nothing", at: time.Now()}.request(t, ts.URL))
			},
			want: answer{Status: 400, ErrorType: codeInvalidSignature}, wantMsg: "Credential should be scoped to correct service: 'ecs'.",
			action: actionUnknown,
		},
		{
			name: "unsigned unknown action learns only that it is unsigned",
			resp: unsigned(ts, ecsPrefix+".DeleteEverything", "{}"),
			want: answer{Status: 400, ErrorType: codeMissingToken}, wantMsg: msgMissingToken,
			action: actionUnknown,
		},
		{
			name: "oversized body",
			resp: unsigned(ts, ecsPrefix+".Echo", `{"cluster":"`+strings.Repeat("x", 100)+`"}`),
			want: answer{Status: 413, ErrorType: codeTooLarge}, wantMsg: "larger than the limit of 64 bytes",
			action: "",
		},
		{
			name: "oversized chunked body",
			resp: func(t *testing.T) *http.Response {
				req, _ := http.NewRequest(http.MethodPost, ts.URL, io.MultiReader(strings.NewReader("{"), strings.NewReader(strings.Repeat(" ", 100)+"}")))
				req.ContentLength = -1 // no length up front: only MaxBytesReader can catch it
				return do(t, ts, req)
			},
			want: answer{Status: 413, ErrorType: codeTooLarge}, wantMsg: "64 bytes",
		},
		{
			name: "type mismatch names the field path",
			resp: func(t *testing.T) *http.Response {
				return ts.post(t, ecsPrefix+".Echo", `{"containerDefinitions":[{"cpu":"1"}]}`, nil)
			},
			want: answer{Status: 400, ErrorType: codeSerialization}, wantMsg: `Unable to parse field "containerDefinitions.cpu": expected number, got string`,
			action: "Echo",
		},
		{
			name: "malformed json",
			resp: func(t *testing.T) *http.Response { return ts.post(t, ecsPrefix+".Echo", `{"cluster":`, nil) },
			want: answer{Status: 400, ErrorType: codeSerialization}, wantMsg: "malformed JSON at offset 11",
			action: "Echo",
		},
		{
			name: "non-object body",
			resp: func(t *testing.T) *http.Response { return ts.post(t, ecsPrefix+".Echo", `["default"]`, nil) },
			want: answer{Status: 400, ErrorType: codeSerialization}, wantMsg: "must be a JSON object",
			action: "Echo",
		},
		{
			name:   "handler's own error",
			resp:   func(t *testing.T) *http.Response { return ts.post(t, ecsPrefix+".NotFound", "{}", nil) },
			want:   answer{Status: 400, ErrorType: "ClusterNotFoundException", Body: errorBody{"ClusterNotFoundException", "Cluster not found."}},
			action: "NotFound",
		},
		{
			name:   "internal error hides the cause",
			resp:   func(t *testing.T) *http.Response { return ts.post(t, ecsPrefix+".Fail", "{}", nil) },
			want:   answer{Status: 500, ErrorType: "ServerException", Body: errorBody{"ServerException", internalErrorMessage}},
			action: "Fail",
		},
		{
			name:   "panic is a 500",
			resp:   func(t *testing.T) *http.Response { return ts.post(t, ecsPrefix+".Panic", "{}", nil) },
			want:   answer{Status: 500, ErrorType: "ServerException", Body: errorBody{"ServerException", internalErrorMessage}},
			action: "Panic",
		},
		{
			name: "GET",
			resp: func(t *testing.T) *http.Response {
				req, _ := http.NewRequest(http.MethodGet, ts.URL+"/", nil)
				return do(t, ts, req)
			},
			want: answer{Status: 405, ErrorType: codeUnknownOperation}, wantMsg: "Method GET is not allowed",
		},
		{
			name: "other path",
			resp: func(t *testing.T) *http.Response {
				req, _ := http.NewRequest(http.MethodPost, ts.URL+"/2015-03-31/functions", strings.NewReader("{}"))
				return do(t, ts, req)
			},
			want: answer{Status: 404, ErrorType: codeUnknownOperation}, wantMsg: "No API at /2015-03-31/functions",
		},
	}
	// Sequential: each case checks the observation its request left last.
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := tt.resp(t)
			got, _ := readAnswer(t, resp)
			if tt.wantMsg != "" {
				if !strings.Contains(got.Body.Message, tt.wantMsg) {
					t.Errorf("message %q does not contain %q", got.Body.Message, tt.wantMsg)
				}
				tt.want.Body = errorBody{Type: tt.want.ErrorType, Message: got.Body.Message}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("answer (-want +got):\n%s", diff)
			}
			if tt.want.Status == http.StatusMethodNotAllowed && resp.Header.Get("Allow") != http.MethodPost {
				t.Errorf("Allow = %q, want POST", resp.Header.Get("Allow"))
			}
			ts.mu.Lock()
			last := ts.observed[len(ts.observed)-1]
			ts.mu.Unlock()
			if want := (observation{tt.action, tt.want.ErrorType, tt.want.Status}); last != want {
				t.Errorf("observed %+v, want %+v", last, want)
			}
		})
	}

	logs := ts.logs.String()
	for _, want := range []string{"etcd: database on fire", "index out of range in the scheduler", "action=Fail", "action=Panic", "request_id="} {
		if !strings.Contains(logs, want) {
			t.Errorf("logs lack %q:\n%s", want, logs)
		}
	}
}

func unsigned(ts *testServer, target, body string) func(t *testing.T) *http.Response {
	return func(t *testing.T) *http.Response {
		req, _ := http.NewRequest(http.MethodPost, ts.URL, strings.NewReader(body))
		req.Header.Set("X-Amz-Target", target)
		return do(t, ts, req)
	}
}

func do(t *testing.T, ts *testServer, req *http.Request) *http.Response {
	t.Helper()
	resp, err := ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func TestHandlerSuccess(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, nil)
	tests := []struct {
		name, target, body string
		contentType        string
		wantBody           string
	}{
		{"echo", ecsPrefix + ".Echo", `{"cluster":"prod","ignored":[1,2]}`, contentTypeJSON11, `"cluster":"prod"`},
		{"empty body", ecsPrefix + ".Echo", "", contentTypeJSON11, `"cluster":""`},
		{"any content type", ecsPrefix + ".Echo", `{"cluster":"x"}`, "text/plain", `"cluster":"x"`},
		{"nil response is {}", ecsPrefix + ".Nothing", "{}", contentTypeJSON11, `{}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req := signSpec{client: awsCLI, target: tt.target, body: tt.body, contentType: tt.contentType, at: time.Now()}.request(t, ts.URL)
			resp := do(t, ts, req)
			got, raw := readAnswer(t, resp)
			if got.Status != http.StatusOK || !strings.Contains(string(raw), tt.wantBody) {
				t.Fatalf("got %d %s, want 200 with %s", got.Status, raw, tt.wantBody)
			}
			if tt.target != ecsPrefix+".Echo" {
				return
			}
			var out echoResponse
			if err := json.Unmarshal(raw, &out); err != nil {
				t.Fatal(err)
			}
			if out.RequestID != resp.Header.Get(headerRequestID) || out.Principal != testPrincipal.Name {
				t.Errorf("handler saw request id %q and principal %q; want %q and %q",
					out.RequestID, out.Principal, resp.Header.Get(headerRequestID), testPrincipal.Name)
			}
		})
	}
}

func TestNewHandlerRefusesBadConfig(t *testing.T) {
	t.Parallel()
	svc := Service{TargetPrefix: ecsPrefix, SigningName: "ecs"}
	v := &Verifier{}
	tests := []struct {
		name string
		opts Options
	}{
		{"no verifier", Options{Services: []Service{svc}}},
		{"no services", Options{Verifier: v}},
		{"duplicate prefix", Options{Verifier: v, Services: []Service{svc, svc}}},
		{"no signing name", Options{Verifier: v, Services: []Service{{TargetPrefix: ecsPrefix}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			defer func() {
				if recover() == nil {
					t.Error("NewHandler accepted the configuration")
				}
			}()
			NewHandler(tt.opts)
		})
	}
}
