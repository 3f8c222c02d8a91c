// Package agentapi is the control plane's side of the agent protocol
// (see agentproto): agents register with AWS credentials, then sync with
// an instance token that lets them act for their own instance only. It
// records what agents observe into task records, answers with the desired
// state for the instance, and tracks which agents are connected. It must
// not import api, server or cmd.
package agentapi

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gantry-dev/gantry/internal/agentproto"
	"github.com/gantry-dev/gantry/internal/awsapi"
	"github.com/gantry-dev/gantry/internal/ecs"
	"github.com/gantry-dev/gantry/internal/store"
)

const maxBody = 4 << 20

// Options configure the agent endpoint.
type Options struct {
	Store    *store.Store
	ARNs     ecs.ARNs
	Verifier *awsapi.Verifier
	Logger   *slog.Logger
	Now      func() time.Time
	// PollTimeout is how long a waiting sync is held (default 20 s).
	PollTimeout time.Duration
	// DisconnectAfter is the silence after which an agent is marked
	// disconnected (default 3 × PollTimeout).
	DisconnectAfter time.Duration
}

// Server serves the agent protocol.
type Server struct {
	opts  Options
	store *store.Store
	log   *slog.Logger

	waits *waiters

	mu       sync.Mutex
	lastSeen map[string]time.Time // instance ID → last contact
	holding  map[string]int       // instance ID → syncs being held
}

// New returns the agent endpoint. Run its connection tracker with Run.
// It observes the store's tasks, instances and task definitions from then
// on, so make one per store.
func New(opts Options) *Server {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.PollTimeout == 0 {
		opts.PollTimeout = 20 * time.Second
	}
	if opts.DisconnectAfter == 0 {
		opts.DisconnectAfter = 3 * opts.PollTimeout
	}
	s := &Server{
		opts:     opts,
		store:    opts.Store,
		log:      opts.Logger,
		waits:    newWaiters(opts.Store.Changed),
		lastSeen: map[string]time.Time{},
		holding:  map[string]int{},
	}
	s.observe()
	return s
}

// Handler serves agentproto's paths.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+agentproto.RegisterPath, s.register)
	mux.HandleFunc("POST "+agentproto.SyncPath, s.sync)
	return mux
}

// protoError is an error with its HTTP status and agentproto code.
type protoError struct {
	status int
	code   string
	msg    string
}

func (e *protoError) Error() string { return e.code + ": " + e.msg }

func badRequest(format string, args ...any) error {
	return &protoError{http.StatusBadRequest, agentproto.CodeBadRequest, fmt.Sprintf(format, args...)}
}

func unauthorized(msg string) error {
	return &protoError{http.StatusUnauthorized, agentproto.CodeUnauthorized, msg}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (s *Server) fail(w http.ResponseWriter, err error) {
	var pe *protoError
	if !errors.As(err, &pe) {
		if errors.Is(err, context.Canceled) {
			return
		}
		s.log.Error("agent request failed", "err", err)
		pe = &protoError{http.StatusInternalServerError, agentproto.CodeInternal, "internal error; retry"}
	}
	writeJSON(w, pe.status, agentproto.Error{Code: pe.code, Message: pe.msg})
}

func readBody(r *http.Request) ([]byte, error) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		return nil, badRequest("read body: %v", err)
	}
	if len(body) > maxBody {
		return nil, badRequest("body larger than %d bytes", maxBody)
	}
	return body, nil
}

func decode(body []byte, v any) error {
	if err := json.Unmarshal(body, v); err != nil {
		return badRequest("malformed JSON: %v", err)
	}
	return nil
}

// newToken returns a token for instance id and the hash the record keeps.
func newToken(id string) (token, hash string) {
	secret := ecs.NewID() + ecs.NewID()
	return id + "." + secret, hashSecret(secret)
}

func hashSecret(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// host is the record an agent acts for, with its table.
type host struct {
	table *store.Table[store.InstanceRecord]
	item  *store.Item[store.InstanceRecord]
}

func (h host) id() string { return h.item.Value.ID }

// authenticate finds the instance a bearer token belongs to.
func (s *Server) authenticate(r *http.Request) (host, error) {
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		return host{}, unauthorized("missing instance token")
	}
	id, secret, _ := strings.Cut(token, ".")
	h, found := s.lookup(id)
	if !found {
		return host{}, unauthorized("unknown instance token")
	}
	want := h.item.Value.TokenHash
	if subtle.ConstantTimeCompare([]byte(hashSecret(secret)), []byte(want)) != 1 {
		return host{}, unauthorized("invalid instance token; register again")
	}
	if h.item.Value.Instance.Status == statusInactive {
		return host{}, &protoError{http.StatusGone, agentproto.CodeDeregistered,
			"container instance " + h.item.Value.Instance.ContainerInstanceArn + " was deregistered"}
	}
	return h, nil
}

func (s *Server) lookup(id string) (host, bool) {
	if id == "" {
		return host{}, false
	}
	if items := s.store.Instances.By(store.ByID, id); len(items) == 1 {
		return host{s.store.Instances, items[0]}, true
	}
	if it, ok := s.store.Capacity.Get(id); ok {
		return host{s.store.Capacity, it}, true
	}
	return host{}, false
}
