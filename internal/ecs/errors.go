package ecs

import "fmt"

// The ECS exception names that validation in this package produces. The api
// layer puts Code on the wire as __type, so these must match the service
// model's shape names exactly.
const (
	CodeClientException           = "ClientException"
	CodeInvalidParameterException = "InvalidParameterException"
)

// Error is a request the ECS rules refuse; Code is the ECS exception name.
type Error struct{ Code, Message string }

// Error formats e the way the SDKs print a service error: "Code: message".
func (e *Error) Error() string { return e.Code + ": " + e.Message }

// ClientError is a ClientException, which ECS uses for most of what it
// refuses in a request body.
func ClientError(format string, args ...any) *Error {
	return &Error{Code: CodeClientException, Message: fmt.Sprintf(format, args...)}
}

// InvalidParameter is an InvalidParameterException, for a value that is not
// one the field accepts at all.
func InvalidParameter(format string, args ...any) *Error {
	return &Error{Code: CodeInvalidParameterException, Message: fmt.Sprintf(format, args...)}
}
