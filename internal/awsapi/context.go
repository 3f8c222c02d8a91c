package awsapi

import "context"

type ctxKey int

const (
	requestIDKey ctxKey = iota
	principalKey
)

// RequestID returns the ID of the request being served, as sent to the
// client in x-amzn-RequestId, or "" outside a request.
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey).(string)
	return id
}

// PrincipalFrom returns the principal whose signature the request carried.
// Every request that reaches an Op has one.
func PrincipalFrom(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey).(Principal)
	return p, ok
}

func withRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey, id)
}

func withPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey, p)
}
