package awsapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"strings"
)

// Op is one action's handler after protocol decoding. Build one with Handle.
type Op interface {
	serve(ctx context.Context, body []byte) (any, error)
}

// Handle turns a typed handler into an Op: the request body is decoded into
// a fresh Req (unknown fields ignored, an empty body or null meaning an
// empty request) and the returned Resp is encoded as the response body. A
// nil Resp answers {}.
func Handle[Req, Resp any](fn func(ctx context.Context, req *Req) (*Resp, error)) Op {
	return typedOp[Req, Resp](fn)
}

type typedOp[Req, Resp any] func(ctx context.Context, req *Req) (*Resp, error)

func (fn typedOp[Req, Resp]) serve(ctx context.Context, body []byte) (any, error) {
	req := new(Req)
	if err := decodeRequest(body, req); err != nil {
		return nil, err
	}
	resp, err := fn(ctx, req)
	if err != nil {
		return nil, err
	}
	if resp == nil {
		return struct{}{}, nil // a typed nil would encode as null
	}
	return resp, nil
}

// decodeRequest reads a JSON 1.1 request body into dst. Malformed bodies and
// type mismatches are SerializationException with status 400, which is what
// AWS's JSON services answer for them (observed on DynamoDB, Firehose and
// Cognito: {"__type":"...#SerializationException"}); the message here also
// names the field so a person can fix the request.
func decodeRequest(body []byte, dst any) *Error {
	trimmed := bytes.Trim(body, " \t\r\n")
	if len(trimmed) == 0 || string(trimmed) == "null" {
		return nil
	}
	if trimmed[0] != '{' {
		return NewError(http.StatusBadRequest, codeSerialization,
			"Unable to parse request: the body must be a JSON object")
	}
	// Unmarshal also rejects anything after the object.
	if err := json.Unmarshal(body, dst); err != nil {
		return NewError(http.StatusBadRequest, codeSerialization, "%s", decodeMessage(err))
	}
	return nil
}

func decodeMessage(err error) string {
	if typeErr, ok := errors.AsType[*json.UnmarshalTypeError](err); ok {
		return typeMismatchMessage(typeErr)
	}
	if syntaxErr, ok := errors.AsType[*json.SyntaxError](err); ok {
		return fmt.Sprintf("Unable to parse request: malformed JSON at offset %d: %s", syntaxErr.Offset, syntaxErr.Error())
	}
	// Errors from a field's own UnmarshalJSON carry their own wording.
	return "Unable to parse request: " + err.Error()
}

// typeMismatchMessage speaks in JSON types, not Go ones: the client sent
// JSON and has never seen our structs.
func typeMismatchMessage(e *json.UnmarshalTypeError) string {
	where := "request"
	if e.Field != "" {
		where = fmt.Sprintf("field %q", e.Field)
	}
	if got, ok := strings.CutPrefix(e.Value, "number "); ok {
		// A number that does not fit the field's Go type.
		return fmt.Sprintf("Unable to parse %s: %s is not a valid %s", where, got, numberKind(e.Type))
	}
	got := e.Value
	if got == "bool" {
		got = "boolean"
	}
	return fmt.Sprintf("Unable to parse %s: expected %s, got %s", where, jsonKind(e.Type), got)
}

func jsonKind(t reflect.Type) string {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil {
		return "value"
	}
	switch t.Kind() {
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		return "number"
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			return "string" // []byte travels as base64
		}
		return "array"
	case reflect.Struct, reflect.Map:
		return "object"
	}
	return "value"
}

func numberKind(t reflect.Type) string {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil {
		return "number"
	}
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return fmt.Sprintf("%d-bit integer", t.Bits())
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return fmt.Sprintf("%d-bit unsigned integer", t.Bits())
	case reflect.Float32, reflect.Float64:
		return fmt.Sprintf("%d-bit number", t.Bits())
	}
	return jsonKind(t)
}
