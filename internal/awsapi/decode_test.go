package awsapi

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// decodeShape is a representative request: optional scalars, nested lists
// of structs, maps, and a field with its own UnmarshalJSON.
type decodeShape struct {
	Cluster              *string           `json:"cluster,omitempty"`
	Count                *int32            `json:"count,omitempty"`
	Enabled              *bool             `json:"enabled,omitempty"`
	Weight               float64           `json:"weight,omitzero"`
	Tags                 map[string]string `json:"tags,omitempty"`
	ContainerDefinitions []containerShape  `json:"containerDefinitions,omitempty"`
	Strict               *strictValue      `json:"strict,omitempty"`
}

type containerShape struct {
	Name         string          `json:"name,omitzero"`
	CPU          *int32          `json:"cpu,omitempty"`
	Essential    *bool           `json:"essential,omitempty"`
	PortMappings []portShape     `json:"portMappings,omitempty"`
	Environment  []keyValueShape `json:"environment,omitempty"`
	Memory       *uint16         `json:"memory,omitempty"`
}

type portShape struct {
	ContainerPort *int32 `json:"containerPort,omitempty"`
	Protocol      string `json:"protocol,omitzero"`
}

type keyValueShape struct {
	Name  *string `json:"name,omitempty"`
	Value *string `json:"value,omitempty"`
}

// strictValue accepts only the string "ok", like the wire types that
// validate themselves (timestamps, enums).
type strictValue string

func (s *strictValue) UnmarshalJSON(b []byte) error {
	if string(b) != `"ok"` {
		return errors.New("strict must be \"ok\"")
	}
	*s = "ok"
	return nil
}

func ptr[T any](v T) *T { return &v }

func TestDecodeRequest(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		body    string
		want    decodeShape
		wantMsg string // "" = success
	}{
		{name: "empty body", body: ""},
		{name: "whitespace", body: " \r\n\t"},
		{name: "empty object", body: "{}"},
		{name: "null", body: "null"},
		{name: "fields", body: `{"cluster":"c","count":2,"enabled":false,"tags":{"a":"b"},"unknown":{"x":[1]}}`,
			want: decodeShape{Cluster: ptr("c"), Count: ptr[int32](2), Enabled: ptr(false), Tags: map[string]string{"a": "b"}}},
		{name: "nested", body: `{"containerDefinitions":[{"name":"web","cpu":256,"portMappings":[{"containerPort":80}]}]}`,
			want: decodeShape{ContainerDefinitions: []containerShape{{Name: "web", CPU: ptr[int32](256), PortMappings: []portShape{{ContainerPort: ptr[int32](80)}}}}}},
		{name: "string for number", body: `{"containerDefinitions":[{"cpu":"256"}]}`,
			wantMsg: `Unable to parse field "containerDefinitions.cpu": expected number, got string`},
		{name: "deep path", body: `{"containerDefinitions":[{"portMappings":[{"containerPort":true}]}]}`,
			wantMsg: `Unable to parse field "containerDefinitions.portMappings.containerPort": expected number, got boolean`},
		{name: "number for string", body: `{"cluster":7}`,
			wantMsg: `Unable to parse field "cluster": expected string, got number`},
		{name: "object for list", body: `{"containerDefinitions":{"cpu":1}}`,
			wantMsg: `Unable to parse field "containerDefinitions": expected array, got object`},
		{name: "list for object", body: `{"tags":["a"]}`,
			wantMsg: `Unable to parse field "tags": expected object, got array`},
		{name: "map value type", body: `{"tags":{"a":1}}`,
			wantMsg: `Unable to parse field "tags": expected string, got number`},
		{name: "fraction for integer", body: `{"count":1.5}`,
			wantMsg: `Unable to parse field "count": 1.5 is not a valid 32-bit integer`},
		{name: "overflow", body: `{"count":3000000000}`,
			wantMsg: `Unable to parse field "count": 3000000000 is not a valid 32-bit integer`},
		{name: "negative unsigned", body: `{"containerDefinitions":[{"memory":-1}]}`,
			wantMsg: `Unable to parse field "containerDefinitions.memory": -1 is not a valid 16-bit unsigned integer`},
		{name: "own validation", body: `{"strict":"no"}`,
			wantMsg: `Unable to parse request: strict must be "ok"`},
		{name: "truncated", body: `{"cluster":"c"`,
			wantMsg: "Unable to parse request: malformed JSON at offset 14: unexpected end of JSON input"},
		{name: "bad literal", body: `{"enabled":tru}`,
			wantMsg: "Unable to parse request: malformed JSON at offset 15: invalid character '}' in literal true (expecting 'e')"},
		{name: "trailing garbage", body: `{"cluster":"c"} x`,
			wantMsg: "Unable to parse request: malformed JSON at offset 17: invalid character 'x' after top-level value"},
		{name: "two objects", body: `{}{}`,
			wantMsg: "Unable to parse request: malformed JSON at offset 3: invalid character '{' after top-level value"},
		{name: "array", body: `[]`, wantMsg: "Unable to parse request: the body must be a JSON object"},
		{name: "string", body: `"x"`, wantMsg: "Unable to parse request: the body must be a JSON object"},
		{name: "number", body: `42`, wantMsg: "Unable to parse request: the body must be a JSON object"},
		{name: "not json", body: `cluster=default`, wantMsg: "Unable to parse request: the body must be a JSON object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var got decodeShape
			err := decodeRequest([]byte(tt.body), &got)
			if tt.wantMsg == "" {
				if err != nil {
					t.Fatalf("decodeRequest: %v", err)
				}
				if diff := cmp.Diff(tt.want, got); diff != "" {
					t.Errorf("decoded (-want +got):\n%s", diff)
				}
				return
			}
			want := &Error{Code: codeSerialization, Message: tt.wantMsg, Status: http.StatusBadRequest}
			if diff := cmp.Diff(want, err); diff != "" {
				t.Errorf("error (-want +got):\n%s", diff)
			}
		})
	}
}

func TestHandleAnswersEmptyObjectForNilResponse(t *testing.T) {
	t.Parallel()
	op := Handle(func(context.Context, *decodeShape) (*decodeShape, error) { return nil, nil })
	out, err := op.serve(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := json.Marshal(out); string(b) != "{}" {
		t.Errorf("nil response encodes as %s, want {}", b)
	}
}

func FuzzDecodeRequest(f *testing.F) {
	for _, seed := range []string{
		"", "{}", "null", "[]", `"x"`, "{", "}", `{"count":1e400}`, `{"count":-0}`,
		`{"cluster":"c","count":2,"enabled":true,"weight":1.5,"tags":{"k":"v"}}`,
		`{"containerDefinitions":[{"name":"n","cpu":1,"essential":true,"memory":512,"portMappings":[{"containerPort":80,"protocol":"tcp"}],"environment":[{"name":"A","value":"B"}]}]}`,
		`{"containerDefinitions":[{"cpu":"1"}]}`, `{"tags":{"a":null}}`, `{"strict":"ok"}`, `{"strict":1}`,
		`{"cluster":"\ud800"}`, "{\"cluster\":\"\xff\"}", `{"a":1} {"b":2}`, `{"count":2147483648}`,
	} {
		f.Add([]byte(seed))
	}
	op := Handle(func(_ context.Context, req *decodeShape) (*decodeShape, error) { return req, nil })
	f.Fuzz(func(t *testing.T, body []byte) {
		out, err := op.serve(context.Background(), body)
		if err != nil {
			e, ok := errors.AsType[*Error](err)
			if !ok || e.Status != http.StatusBadRequest || e.Code != codeSerialization || e.Message == "" {
				t.Fatalf("decode error %#v is not a 400 SerializationException with a message", err)
			}
			return
		}
		if _, err := json.Marshal(out); err != nil {
			t.Fatalf("decoded request does not encode: %v", err)
		}
	})
}
