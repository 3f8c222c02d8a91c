package awsapi

import (
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseAuthorization(t *testing.T) {
	t.Parallel()
	want := authorization{
		AccessKeyID: "AKIDEXAMPLE", Date: "20260314", Region: "us-east-1", Service: "ecs", Terminator: "aws4_request",
		SignedHeaders: []string{"content-type", "host", "x-amz-date"},
		Signature:     "5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7",
	}
	const cred = "Credential=AKIDEXAMPLE/20260314/us-east-1/ecs/aws4_request"
	const signed = "SignedHeaders=content-type;host;x-amz-date"
	const sig = "Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7"
	tests := []struct {
		name    string
		header  string
		wantMsg string // "" = parses to want
	}{
		{"sdk form", "AWS4-HMAC-SHA256 " + cred + ", " + signed + ", " + sig, ""},
		{"commas only", "AWS4-HMAC-SHA256 " + cred + "," + signed + "," + sig, ""},
		{"spaces only", "AWS4-HMAC-SHA256 " + cred + " " + signed + " " + sig, ""},
		{"any order", "AWS4-HMAC-SHA256 " + sig + ", " + cred + ", " + signed, ""},
		{"extra whitespace", "  AWS4-HMAC-SHA256\t" + cred + " ,  " + signed + ",\t" + sig + " ,", ""},
		{"unknown part ignored", "AWS4-HMAC-SHA256 " + cred + ", Extra=1, " + signed + ", " + sig, ""},
		{"empty", "", "Unsupported AWS 'algorithm': ''"},
		{"other algorithm", "AWS4-HMAC-SHA512 " + cred, "Unsupported AWS 'algorithm': 'AWS4-HMAC-SHA512'"},
		{"basic auth", "Basic dXNlcjpwYXNz", "Unsupported AWS 'algorithm': 'Basic'"},
		{"no parts", "AWS4-HMAC-SHA256",
			"Authorization header requires 'Credential' parameter. Authorization header requires 'Signature' parameter. Authorization header requires 'SignedHeaders' parameter. Authorization=AWS4-HMAC-SHA256"},
		{"no signature", "AWS4-HMAC-SHA256 " + cred + ", " + signed,
			"Authorization header requires 'Signature' parameter. Authorization="},
		{"empty signature", "AWS4-HMAC-SHA256 " + cred + ", " + signed + ", Signature=",
			"Authorization header requires 'Signature' parameter."},
		{"space inside credential", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE /20260314/us-east-1/ecs/aws4_request, " + signed + ", " + sig,
			"'/20260314/us-east-1/ecs/aws4_request' not a valid key=value pair (missing equal-sign) in Authorization header: "},
		{"duplicate part", "AWS4-HMAC-SHA256 " + cred + ", " + cred + ", " + signed + ", " + sig,
			"more than one 'Credential' parameter"},
		{"short credential", "AWS4-HMAC-SHA256 Credential=AKID/20260314/us-east-1/ecs, " + signed + ", " + sig,
			"Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got 'AKID/20260314/us-east-1/ecs'"},
		{"empty header name", "AWS4-HMAC-SHA256 " + cred + ", SignedHeaders=host;;x-amz-date, " + sig,
			"SignedHeaders has an empty header name"},
		{"host missing", "AWS4-HMAC-SHA256 " + cred + ", SignedHeaders=x-amz-date, " + sig,
			"'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization."},
		{"long garbage is cut short", "AWS4-HMAC-SHA256 " + strings.Repeat("x", 2000), "…'."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := parseAuthorization(tt.header)
			if tt.wantMsg == "" {
				if err != nil {
					t.Fatalf("parseAuthorization: %v", err)
				}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("parsed (-want +got):\n%s", diff)
				}
				return
			}
			if err == nil {
				t.Fatalf("parsed %+v, want an error", got)
			}
			if err.Code != codeIncompleteSig || err.Status != http.StatusBadRequest || !strings.Contains(err.Message, tt.wantMsg) {
				t.Errorf("got %d %s %q, want 400 %s containing %q", err.Status, err.Code, err.Message, codeIncompleteSig, tt.wantMsg)
			}
			if len(err.Message) > 3*maxEchoed {
				t.Errorf("message is %d bytes; client input should be cut short", len(err.Message))
			}
		})
	}
}

func FuzzParseAuthorization(f *testing.F) {
	for _, seed := range []string{
		"",
		"AWS4-HMAC-SHA256 Credential=AKID/20260314/us-east-1/ecs/aws4_request, SignedHeaders=host;x-amz-date, Signature=abc",
		"AWS4-HMAC-SHA256 Signature=abc,SignedHeaders=host,Credential=a/b/c/d/e",
		"AWS4-HMAC-SHA256 Credential==/=/=/=/=, SignedHeaders=host, Signature==",
		"AWS4-HMAC-SHA256 Credential=a/b/c/d/e/f, SignedHeaders=host, Signature=x",
		"AWS4-HMAC-SHA256 Credential=a/b/c/d/e, SignedHeaders=HOST;;, Signature=x",
		"AWS4-HMAC-SHA256\tCredential=a/b/c/d/e,\tSignedHeaders=host\n, Signature=x\r",
		"Bearer x", "AWS4-HMAC-SHA256 ,,,", "AWS4-HMAC-SHA256 Credential", "\xff\xfe",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, header string) {
		a, err := parseAuthorization(header)
		if err != nil {
			if err.Code != codeIncompleteSig || err.Status != http.StatusBadRequest || err.Message == "" {
				t.Fatalf("error %#v is not a 400 IncompleteSignatureException with a message", err)
			}
			return
		}
		again, err := parseAuthorization(a.String())
		if err != nil {
			t.Fatalf("%q parsed, but its rendering %q does not: %v", header, a.String(), err)
		}
		if diff := cmp.Diff(a, again); diff != "" {
			t.Fatalf("round trip of %q changed it (-first +second):\n%s", header, diff)
		}
	})
}
