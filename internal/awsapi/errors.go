package awsapi

import (
	"encoding/json"
	"fmt"
	"net/http"
)

// Protocol-level error codes. Each is what AWS's JSON services answer in the
// same situation; the source of each choice is noted where it is raised.
const (
	codeSerialization    = "SerializationException"
	codeUnknownOperation = "UnknownOperationException"
	codeTooLarge         = "RequestEntityTooLargeException"
	codeMissingToken     = "MissingAuthenticationTokenException"
	codeIncompleteSig    = "IncompleteSignatureException"
	codeUnrecognized     = "UnrecognizedClientException"
	codeInvalidSignature = "InvalidSignatureException"

	// defaultInternalCode is AWS's common 500 code, used when a Service
	// names none or no Service was resolved.
	defaultInternalCode  = "InternalFailure"
	internalErrorMessage = "Internal server error"
)

// Error is an AWS-shaped error: an HTTP status, a code that clients match on
// (the body's __type and the X-Amzn-ErrorType header) and a message for
// people. Handlers return it to answer with a specific code; any other error
// becomes the service's internal error.
type Error struct {
	Code    string
	Message string
	Status  int
}

// NewError returns an Error whose message is format expanded with args.
func NewError(status int, code, format string, args ...any) *Error {
	msg := format
	if len(args) > 0 {
		msg = fmt.Sprintf(format, args...)
	}
	return &Error{Code: code, Message: msg, Status: status}
}

func (e *Error) Error() string {
	if e.Message == "" {
		return e.Code
	}
	return e.Code + ": " + e.Message
}

// status is the HTTP status to answer with. A zero status means a client
// error; anything outside 4xx/5xx is a programming mistake and answered as
// a server fault rather than letting WriteHeader panic or claim success.
func (e *Error) status() int {
	switch {
	case e.Status == 0:
		return http.StatusBadRequest
	case e.Status < 400 || e.Status > 599:
		return http.StatusInternalServerError
	}
	return e.Status
}

// errorBody is the JSON 1.1 error document. Both clients read __type; the
// message key is lower-case as AWS's JSON services send it.
type errorBody struct {
	Type    string `json:"__type"`
	Message string `json:"message"`
}

// writeError answers with e. The request ID and content type are already
// set on every response by the handler.
func writeError(w http.ResponseWriter, e *Error) {
	body, _ := json.Marshal(errorBody{Type: e.Code, Message: e.Message}) // two strings cannot fail
	w.Header().Set(headerErrorType, e.Code)
	w.WriteHeader(e.status())
	_, _ = w.Write(body)
}
