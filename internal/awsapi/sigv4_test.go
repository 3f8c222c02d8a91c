package awsapi

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/google/go-cmp/cmp"
)

func TestVerifySDKSigned(t *testing.T) {
	t.Parallel()
	body := `{"cluster":"default","count":2}`
	tests := []struct {
		name          string
		spec          signSpec
		signedHeaders string
	}{
		{"go sdk", signSpec{client: goSDK, body: body}, sdkSignedHeaders},
		{"aws cli", signSpec{client: awsCLI, body: body}, cliSignedHeaders},
		{"go sdk with session token", signSpec{client: goSDK, body: body, creds: aws.Credentials{
			AccessKeyID: testPrincipal.AccessKeyID, SecretAccessKey: testPrincipal.SecretAccessKey, SessionToken: "FwoGZXIvYXdzEJr//////////session",
		}}, strings.Replace(sdkSignedHeaders, ";x-amz-target", ";x-amz-security-token;x-amz-target", 1)},
		{"aws cli with session token", signSpec{client: awsCLI, body: body, creds: aws.Credentials{
			AccessKeyID: testPrincipal.AccessKeyID, SecretAccessKey: testPrincipal.SecretAccessKey, SessionToken: "token",
		}}, "content-type;host;x-amz-date;x-amz-security-token;x-amz-target"},
		{"empty body", signSpec{client: awsCLI}, cliSignedHeaders},
		{"other region", signSpec{client: goSDK, region: "eu-north-1", body: "{}"}, sdkSignedHeaders},
		{"other principal", signSpec{client: goSDK, body: "{}", creds: aws.Credentials{
			AccessKeyID: otherPrincipal.AccessKeyID, SecretAccessKey: otherPrincipal.SecretAccessKey,
		}}, sdkSignedHeaders},
		{"content hash header", signSpec{client: awsCLI, body: body, contentSHA: true}, "content-type;host;x-amz-content-sha256;x-amz-date;x-amz-target"},
		{"query and escaped path", signSpec{client: awsCLI, method: http.MethodGet, path: "/a%20b/c?Param2=value2&Param1=value1&x=b+c&x=a&empty=&k=%2F"}, cliSignedHeaders},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			v := &Verifier{Keys: testKeyring(t), Now: fixedClock(signedAt)}
			var sent *http.Request
			p, err := verifyOnServer(t, v, "ecs", func(t testing.TB, u string) *http.Request {
				sent = tt.spec.request(t, u)
				return sent
			})
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			auth, perr := parseAuthorization(sent.Header.Get("Authorization"))
			if perr != nil {
				t.Fatal(perr)
			}
			if got := strings.Join(auth.SignedHeaders, ";"); got != tt.signedHeaders {
				t.Errorf("client signed %q, want %q (the header set this case imitates)", got, tt.signedHeaders)
			}
			want := testPrincipal
			if tt.spec.creds.AccessKeyID == otherPrincipal.AccessKeyID {
				want = otherPrincipal
			}
			if diff := cmp.Diff(want, p); diff != "" {
				t.Errorf("principal (-want +got):\n%s", diff)
			}
		})
	}
}

func TestVerifyRejects(t *testing.T) {
	t.Parallel()
	const body = `{"cluster":"a"}`
	base := signSpec{client: goSDK, body: body}
	signed := func(spec signSpec, mutate func(*http.Request)) func(testing.TB, string) *http.Request {
		return func(t testing.TB, u string) *http.Request {
			req := spec.request(t, u)
			if mutate != nil {
				mutate(req)
			}
			return req
		}
	}
	wrongSecret := base
	wrongSecret.creds = aws.Credentials{AccessKeyID: testPrincipal.AccessKeyID, SecretAccessKey: otherPrincipal.SecretAccessKey}
	unknownKey := base
	unknownKey.creds = aws.Credentials{AccessKeyID: "AKIAUNKNOWNUNKNOWN00", SecretAccessKey: "whatever"}
	logsScoped := base
	logsScoped.service = "logs"
	badTerminator := func(r *http.Request) {
		r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), "aws4_request", "aws5_request", 1))
	}

	tests := []struct {
		name     string
		build    func(testing.TB, string) *http.Request
		wantCode string
		wantMsg  string // substring
	}{
		{"changed body", signed(base, func(r *http.Request) { setBody(r, `{"cluster":"b"}`) }),
			codeInvalidSignature, "The request signature we calculated does not match"},
		{"changed signed header", signed(base, func(r *http.Request) { r.Header.Set("X-Amz-Target", ecsPrefix+".DeleteCluster") }),
			codeInvalidSignature, "does not match the signature you provided"},
		{"changed session token", signed(signSpec{client: goSDK, body: body, creds: aws.Credentials{
			AccessKeyID: testPrincipal.AccessKeyID, SecretAccessKey: testPrincipal.SecretAccessKey, SessionToken: "one",
		}}, func(r *http.Request) { r.Header.Set("X-Amz-Security-Token", "two") }),
			codeInvalidSignature, "does not match"},
		{"changed date within the day", signed(base, func(r *http.Request) {
			r.Header.Set("X-Amz-Date", signedAt.Add(time.Second).Format(amzDateFormat))
		}), codeInvalidSignature, "does not match"},
		{"date outside the scope's day", signed(base, func(r *http.Request) {
			r.Header.Set("X-Amz-Date", signedAt.Add(-16*time.Hour).Format(amzDateFormat))
		}), codeInvalidSignature, "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '20260314' != '20260313', from '20260313T230926Z'."},
		{"wrong secret", signed(wrongSecret, nil), codeInvalidSignature, msgSignatureInvalid},
		{"unknown access key", signed(unknownKey, nil), codeUnrecognized, msgUnrecognized},
		{"scoped to another service", signed(logsScoped, nil), codeInvalidSignature, "Credential should be scoped to correct service: 'ecs'."},
		{"bad terminator", signed(base, badTerminator), codeInvalidSignature, "Credential should be scoped with a valid terminator: 'aws4_request', not 'aws5_request'."},
		{"no authorization", signed(base, func(r *http.Request) { r.Header.Del("Authorization") }), codeMissingToken, msgMissingToken},
		{"blank authorization", signed(base, func(r *http.Request) { r.Header.Set("Authorization", "  ") }), codeMissingToken, msgMissingToken},
		{"two authorization headers", signed(base, func(r *http.Request) { r.Header.Add("Authorization", r.Header.Get("Authorization")) }),
			codeIncompleteSig, "only once"},
		{"no date", signed(base, func(r *http.Request) { r.Header.Del("X-Amz-Date") }),
			codeIncompleteSig, "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."},
		{"unparseable date", signed(base, func(r *http.Request) { r.Header.Set("X-Amz-Date", "2026-03-14T15:09:26Z") }),
			codeIncompleteSig, "ISO 8601 basic format"},
		{"content hash not matching body", signed(base, func(r *http.Request) { r.Header.Set("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD") }),
			codeInvalidSignature, "x-amz-content-sha256"},
		{"bearer token", signed(base, func(r *http.Request) { r.Header.Set("Authorization", "Bearer abc") }),
			codeIncompleteSig, "Unsupported AWS 'algorithm': 'Bearer'"},
		{"host not signed", signed(base, func(r *http.Request) {
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), "host;", "", 1))
		}), codeIncompleteSig, "'Host' or ':authority' must be a 'SignedHeader'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			v := &Verifier{Keys: testKeyring(t), Now: fixedClock(signedAt)}
			_, err := verifyOnServer(t, v, "ecs", tt.build)
			if err == nil {
				t.Fatal("Verify accepted the request")
			}
			if err.Code != tt.wantCode || err.Status != http.StatusBadRequest || !strings.Contains(err.Message, tt.wantMsg) {
				t.Errorf("got %d %s %q, want 400 %s containing %q", err.Status, err.Code, err.Message, tt.wantCode, tt.wantMsg)
			}
		})
	}
}

func TestVerifyClockSkew(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		skew    time.Duration // server clock minus signing time
		maxSkew time.Duration
		wantMsg string // "" = accepted
	}{
		{"in sync", 0, 0, ""},
		{"14m59s late", 14*time.Minute + 59*time.Second, 0, ""},
		{"exactly 15m late", 15 * time.Minute, 0, ""},
		{"15m01s late", 15*time.Minute + time.Second, 0,
			"Signature expired: 20260314T150926Z is now earlier than 20260314T150927Z (20260314T152427Z - 15 min.)"},
		{"14m59s early", -(14*time.Minute + 59*time.Second), 0, ""},
		{"15m01s early", -(15*time.Minute + time.Second), 0,
			"Signature not yet current: 20260314T150926Z is still later than 20260314T150925Z (20260314T145425Z + 15 min.)"},
		{"custom window", 6 * time.Minute, 5 * time.Minute,
			"Signature expired: 20260314T150926Z is now earlier than 20260314T151026Z (20260314T151526Z - 5 min.)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			v := &Verifier{Keys: testKeyring(t), Now: fixedClock(signedAt.Add(tt.skew)), MaxSkew: tt.maxSkew}
			_, err := verifyOnServer(t, v, "ecs", signSpec{client: goSDK, body: "{}"}.request)
			switch {
			case tt.wantMsg == "" && err != nil:
				t.Fatalf("rejected: %v", err)
			case tt.wantMsg != "" && err == nil:
				t.Fatal("accepted")
			case tt.wantMsg != "" && (err.Code != codeInvalidSignature || err.Message != tt.wantMsg):
				t.Errorf("got %s %q\nwant %s %q", err.Code, err.Message, codeInvalidSignature, tt.wantMsg)
			}
		})
	}
}

func TestSigningTimeFromDateHeader(t *testing.T) {
	t.Parallel()
	h := http.Header{}
	h.Set("Date", signedAt.Format(http.TimeFormat))
	got, err := signingTime(h)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Equal(signedAt) || got.Location() != time.UTC {
		t.Errorf("signingTime = %v, want %v in UTC", got, signedAt)
	}
	h.Set("X-Amz-Date", "20260314T000000Z") // X-Amz-Date wins
	if got, _ := signingTime(h); got.Hour() != 0 {
		t.Errorf("signingTime = %v, want X-Amz-Date's midnight", got)
	}
}

func TestCanonicalQuery(t *testing.T) {
	t.Parallel()
	tests := []struct{ raw, want string }{
		{"", ""},
		{"Param2=value2&Param1=value1", "Param1=value1&Param2=value2"},
		{"a=2&a=1&a-b=0", "a=1&a=2&a-b=0"},
		{"k=b+c&j=%2F&e=&f", "e=&f=&j=%2F&k=b%20c"},
		{"%zz=1", "%25zz=1"},
	}
	for _, tt := range tests {
		if got := canonicalQuery(tt.raw); got != tt.want {
			t.Errorf("canonicalQuery(%q) = %q, want %q", tt.raw, got, tt.want)
		}
	}
}

func TestSigningKeyCacheIsBounded(t *testing.T) {
	t.Parallel()
	var c signingKeys
	first := c.get(signingKeyID{secret: "s", date: "20260314", region: "r0", service: "ecs"})
	for i := range keyCacheSize * 2 {
		c.get(signingKeyID{secret: "s", date: "20260314", region: strings.Repeat("x", i), service: "ecs"})
	}
	if n := len(c.keys); n > keyCacheSize {
		t.Errorf("cache holds %d keys, want at most %d", n, keyCacheSize)
	}
	again := c.get(signingKeyID{secret: "s", date: "20260314", region: "r0", service: "ecs"})
	if !cmp.Equal(first, again) {
		t.Error("re-derived key differs from the cached one")
	}
}
