package agent

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/gantry-dev/gantry/internal/agentproto"
)

// client speaks agentproto to the control plane.
type client struct {
	endpoint string
	http     *http.Client
	creds    aws.CredentialsProvider
	region   string
}

// Errors the sync loop acts on.
var (
	// errUnauthorized: the token is no longer valid; register again.
	errUnauthorized = errors.New("instance token refused")
	// ErrDeregistered: the container instance was deregistered; the agent
	// stops and leaves its containers alone.
	ErrDeregistered = errors.New("container instance deregistered")
)

// permanentError is a refusal that retrying unchanged cannot fix.
type permanentError struct{ msg string }

func (e *permanentError) Error() string { return e.msg }

func (c *client) register(ctx context.Context, req *agentproto.RegisterRequest) (*agentproto.RegisterResponse, error) {
	body, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	httpReq, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint+agentproto.RegisterPath, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	httpReq.Header.Set("Content-Type", "application/json")
	creds, err := c.creds.Retrieve(ctx)
	if err != nil {
		return nil, &permanentError{fmt.Sprintf("load AWS credentials: %v", err)}
	}
	sum := sha256.Sum256(body)
	if err := v4.NewSigner().SignHTTP(ctx, creds, httpReq, hex.EncodeToString(sum[:]), "ecs", c.region, time.Now()); err != nil {
		return nil, fmt.Errorf("sign registration: %w", err)
	}
	var resp agentproto.RegisterResponse
	if err := c.do(httpReq, &resp); err != nil {
		return nil, err
	}
	return &resp, nil
}

func (c *client) sync(ctx context.Context, token string, req *agentproto.SyncRequest) (*agentproto.SyncResponse, error) {
	body, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	httpReq, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint+agentproto.SyncPath, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	httpReq.Header.Set("Content-Type", "application/json")
	httpReq.Header.Set("Authorization", "Bearer "+token)
	var resp agentproto.SyncResponse
	if err := c.do(httpReq, &resp); err != nil {
		return nil, err
	}
	if err := resp.Unpack(); err != nil {
		return nil, err
	}
	return &resp, nil
}

func (c *client) do(req *http.Request, out any) error {
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode == http.StatusOK {
		return json.Unmarshal(body, out)
	}
	var perr agentproto.Error
	_ = json.Unmarshal(body, &perr)
	msg := strings.TrimSpace(perr.Message)
	if msg == "" {
		msg = strings.TrimSpace(string(body))
	}
	switch {
	case resp.StatusCode == http.StatusUnauthorized && req.URL.Path == agentproto.SyncPath:
		return fmt.Errorf("%w: %s", errUnauthorized, msg)
	case resp.StatusCode == http.StatusGone:
		return fmt.Errorf("%w: %s", ErrDeregistered, msg)
	case resp.StatusCode >= 400 && resp.StatusCode < 500:
		return &permanentError{fmt.Sprintf("%s refused (%d %s): %s", req.URL.Path, resp.StatusCode, perr.Code, msg)}
	}
	return fmt.Errorf("%s: %d %s: %s", req.URL.Path, resp.StatusCode, perr.Code, msg)
}
