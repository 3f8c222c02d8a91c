package awsapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
)

const (
	contentTypeJSON11   = "application/x-amz-json-1.1"
	headerRequestID     = "x-amzn-RequestId"
	headerErrorType     = "X-Amzn-ErrorType"
	defaultMaxBodyBytes = 1 << 20

	// actionUnknown is the Observe label for requests whose X-Amz-Target
	// names no registered operation; the raw target never becomes a label.
	actionUnknown = "Unknown"
)

// Service is one AWS-shaped API served at POST /, told apart from the others
// by its X-Amz-Target prefix.
type Service struct {
	TargetPrefix      string        // e.g. "AmazonEC2ContainerServiceV20141113"
	SigningName       string        // the credential scope's service, e.g. "ecs"
	InternalErrorCode string        // code for unexpected failures, e.g. "ServerException"; default "InternalFailure"
	Ops               map[string]Op // by action name, e.g. "CreateCluster"
}

// Options configures NewHandler.
type Options struct {
	Services     []Service
	Verifier     *Verifier // required: every request must be signed
	MaxBodyBytes int64     // default 1 MiB
	Logger       *slog.Logger

	// Observe, when set, is called once per request: action is "" when the
	// request was refused before routing (method, path, body size) and
	// "Unknown" when its target names no operation; code is "" on success.
	Observe func(action, code string, status int, d time.Duration)
}

type handler struct {
	services     map[string]*route
	signingNames []string // of all services, for requests with an unknown target
	verifier     *Verifier
	maxBody      int64
	log          *slog.Logger
	observe      func(action, code string, status int, d time.Duration)
}

type route struct {
	Service
	signingNames []string
}

// NewHandler serves the given services. It panics on a configuration that
// could never serve a request correctly (no Verifier, no services, a
// duplicate or empty prefix), since those are programming errors.
func NewHandler(opts Options) http.Handler {
	if opts.Verifier == nil {
		panic("awsapi: Options.Verifier is required; requests are always authenticated")
	}
	if len(opts.Services) == 0 {
		panic("awsapi: Options.Services is empty")
	}
	h := &handler{
		services: make(map[string]*route, len(opts.Services)),
		verifier: opts.Verifier,
		maxBody:  opts.MaxBodyBytes,
		log:      opts.Logger,
		observe:  opts.Observe,
	}
	if h.maxBody <= 0 {
		h.maxBody = defaultMaxBodyBytes
	}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	for _, s := range opts.Services {
		h.addService(s)
	}
	return h
}

func (h *handler) addService(s Service) {
	switch {
	case s.TargetPrefix == "" || s.SigningName == "":
		panic(fmt.Sprintf("awsapi: service %q needs both TargetPrefix and SigningName", s.TargetPrefix))
	case h.services[s.TargetPrefix] != nil:
		panic(fmt.Sprintf("awsapi: target prefix %q registered twice", s.TargetPrefix))
	}
	if s.InternalErrorCode == "" {
		s.InternalErrorCode = defaultInternalCode
	}
	s.Ops = maps.Clone(s.Ops) // the caller's map may change; ours must not
	h.services[s.TargetPrefix] = &route{Service: s, signingNames: []string{s.SigningName}}
	if !slices.Contains(h.signingNames, s.SigningName) {
		h.signingNames = append(h.signingNames, s.SigningName)
	}
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	id := uuid.NewString()
	w.Header().Set(headerRequestID, id)
	w.Header().Set("Content-Type", contentTypeJSON11)
	ctx := withRequestID(r.Context(), id)

	action, resp, err := h.handle(ctx, w, r)
	status, code := http.StatusOK, ""
	if err != nil {
		status, code = err.status(), err.Code
		if status < 500 {
			h.log.DebugContext(ctx, "awsapi: request refused", "request_id", id, "action", action, "code", code, "message", err.Message)
		}
		writeError(w, err)
	} else {
		w.WriteHeader(status)
		_, _ = w.Write(resp)
	}
	if h.observe != nil {
		h.observe(action, code, status, time.Since(start))
	}
}

// handle runs the protocol steps in order: method and path, body size,
// signature, routing, then the operation. The signature is checked before
// an unknown target is reported, so unsigned callers learn nothing.
func (h *handler) handle(ctx context.Context, w http.ResponseWriter, r *http.Request) (string, []byte, *Error) {
	if err := checkMethodAndPath(w, r); err != nil {
		return "", nil, err
	}
	body, err := h.readBody(w, r)
	if err != nil {
		return "", nil, err
	}
	target := r.Header.Get("X-Amz-Target")
	rt, action, op := h.route(target)
	names := h.signingNames
	if rt != nil {
		names = rt.signingNames
	}
	p, err := h.verifier.verify(r, body, names)
	if err != nil {
		return action, nil, err
	}
	if op == nil {
		return action, nil, unknownOperation(target)
	}
	resp, err := h.call(withPrincipal(ctx, p), rt, action, op, body)
	return action, resp, err
}

func checkMethodAndPath(w http.ResponseWriter, r *http.Request) *Error {
	if r.URL.Path != "/" {
		return NewError(http.StatusNotFound, codeUnknownOperation, "No API at %s: AWS JSON requests go to POST /", echo(r.URL.Path))
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		return NewError(http.StatusMethodNotAllowed, codeUnknownOperation, "Method %s is not allowed: AWS JSON requests go to POST /", echo(r.Method))
	}
	return nil
}

// readBody caps the body before anything hashes or parses it. AWS does not
// document what ECS answers for an oversized body; the JSON services that
// do (Lambda) answer 413 RequestEntityTooLargeException, and so do we.
func (h *handler) readBody(w http.ResponseWriter, r *http.Request) ([]byte, *Error) {
	tooLarge := NewError(http.StatusRequestEntityTooLarge, codeTooLarge,
		"Request body is larger than the limit of %d bytes", h.maxBody)
	if r.ContentLength > h.maxBody {
		return nil, tooLarge
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.maxBody))
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return nil, tooLarge
		}
		return nil, NewError(http.StatusBadRequest, codeSerialization, "Unable to read the request body")
	}
	return body, nil
}

// route resolves "<prefix>.<Action>". The action is split at the last dot
// because some AWS prefixes contain dots themselves.
func (h *handler) route(target string) (*route, string, Op) {
	i := strings.LastIndexByte(target, '.')
	if i < 0 {
		return nil, actionUnknown, nil
	}
	rt := h.services[target[:i]]
	if rt == nil {
		return nil, actionUnknown, nil
	}
	name := target[i+1:]
	op := rt.Ops[name]
	if op == nil {
		return rt, actionUnknown, nil
	}
	return rt, name, op
}

// unknownOperation is 400 UnknownOperationException, which AWS's JSON
// services answer for a target they do not serve (CloudWatch Logs answers
// 400 {"__type":"UnknownOperationException"}). AWS sends no message; ours
// says what was asked for.
func unknownOperation(target string) *Error {
	if target == "" {
		return NewError(http.StatusBadRequest, codeUnknownOperation, "Missing X-Amz-Target header")
	}
	return NewError(http.StatusBadRequest, codeUnknownOperation, "Operation %q is not supported", echo(target))
}

// call runs the operation and encodes its result. Failures that are not an
// *Error, and panics, are logged with the request ID and answered with the
// service's internal error, so no internals reach the client.
func (h *handler) call(ctx context.Context, rt *route, action string, op Op, body []byte) (resp []byte, aerr *Error) {
	internal := NewError(http.StatusInternalServerError, rt.InternalErrorCode, internalErrorMessage)
	defer func() {
		if p := recover(); p != nil {
			if p == http.ErrAbortHandler {
				panic(p) // a deliberate abort, not a bug
			}
			h.log.ErrorContext(ctx, "awsapi: operation panicked", "request_id", RequestID(ctx), "action", action,
				"panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			resp, aerr = nil, internal
		}
	}()
	out, err := op.serve(ctx, body)
	if err != nil {
		if e, ok := errors.AsType[*Error](err); ok && e != nil {
			return nil, e
		}
		h.log.ErrorContext(ctx, "awsapi: operation failed", "request_id", RequestID(ctx), "action", action, "error", err)
		return nil, internal
	}
	resp, err = json.Marshal(out)
	if err != nil {
		h.log.ErrorContext(ctx, "awsapi: encoding response", "request_id", RequestID(ctx), "action", action, "error", err)
		return nil, internal
	}
	return resp, nil
}
