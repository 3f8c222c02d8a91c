package awsapi

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Rejections, as AWS's JSON services (the DynamoDB/ECS/Logs family) send
// them. All are HTTP 400 there, where REST services mostly answer 403:
//
//   - no Authorization header: MissingAuthenticationTokenException "Request is
//     missing Authentication Token" (DynamoDB's raw 400 answer to an unsigned
//     request, quoted in public test notes);
//   - malformed header, missing parts, other algorithm, host not signed, no
//     date: IncompleteSignatureException, worded as AWS words them ("… not a
//     valid key=value pair (missing equal-sign) in Authorization header …",
//     "Authorization header requires 'Signature' parameter.", seen from
//     DynamoDB, Cloud9, SES and STS in public issues);
//   - unknown access key: UnrecognizedClientException "The security token
//     included in the request is invalid." (DynamoDB, Cognito and ECS,
//     status 400);
//   - wrong signature: InvalidSignatureException "The request signature we
//     calculated does not match …" (ECS, status 400);
//   - other service in the scope: InvalidSignatureException "Credential
//     should be scoped to correct service: 'ecs'." (EMR, SageMaker,
//     Application Auto Scaling, status 400);
//   - scope date ≠ request date: InvalidSignatureException "Date in
//     Credential scope does not match YYYYMMDD from ISO-8601 version of date
//     from HTTP: …" (AWS SigV4 troubleshooting guide);
//   - clock skew: InvalidSignatureException "Signature expired: … is now
//     earlier than … (… - 15 min.)" and "Signature not yet current: … is
//     still later than … (… + 15 min.)" (ECR and Rekognition, status 400;
//     the future-dated form is in the SigV4 troubleshooting guide).
const (
	msgMissingToken     = "Request is missing Authentication Token"
	msgUnrecognized     = "The security token included in the request is invalid."
	msgSignatureInvalid = "The request signature we calculated does not match the signature you provided. " +
		"Check your AWS Secret Access Key and signing method. Consult the service documentation for details."

	amzDateFormat  = "20060102T150405Z"
	defaultMaxSkew = 15 * time.Minute
	keyCacheSize   = 256
)

// Verifier checks SigV4 signatures against a keyring. Its zero MaxSkew
// means AWS's 15 minutes; a nil Now means time.Now. Use it by pointer: it
// caches derived signing keys.
type Verifier struct {
	Keys    *Keyring
	Now     func() time.Time
	MaxSkew time.Duration

	keys signingKeys
}

// Verify checks that r, whose body has already been read into body, is
// signed by a principal in the keyring for the service signingName, and
// returns that principal. Any region is accepted.
func (v *Verifier) Verify(r *http.Request, body []byte, signingName string) (Principal, *Error) {
	return v.verify(r, body, []string{signingName})
}

// verify accepts a scope naming any of signingNames; the handler uses this
// before it knows which service a request is for.
func (v *Verifier) verify(r *http.Request, body []byte, signingNames []string) (Principal, *Error) {
	auth, err := authorizationFrom(r)
	if err != nil {
		return Principal{}, err
	}
	if err := checkScope(auth, signingNames); err != nil {
		return Principal{}, err
	}
	signedAt, err := requestTime(r, auth)
	if err != nil {
		return Principal{}, err
	}
	p, ok := v.Keys.Lookup(auth.AccessKeyID)
	if !ok {
		return Principal{}, NewError(http.StatusBadRequest, codeUnrecognized, msgUnrecognized)
	}
	if err := v.checkSkew(signedAt); err != nil {
		return Principal{}, err
	}
	payloadHash, err := payloadHash(r, body)
	if err != nil {
		return Principal{}, err
	}
	want := v.signature(p.SecretAccessKey, auth, signedAt, canonicalRequest(r, auth.SignedHeaders, payloadHash))
	if !hmac.Equal([]byte(want), []byte(auth.Signature)) {
		return Principal{}, invalidSignature(msgSignatureInvalid)
	}
	return p, nil
}

func authorizationFrom(r *http.Request) (authorization, *Error) {
	values := r.Header.Values("Authorization")
	switch {
	case len(values) == 0 || strings.TrimSpace(values[0]) == "":
		return authorization{}, NewError(http.StatusBadRequest, codeMissingToken, msgMissingToken)
	case len(values) > 1:
		return authorization{}, incomplete("Authorization header must appear only once.")
	}
	return parseAuthorization(values[0])
}

func checkScope(a authorization, signingNames []string) *Error {
	found := false
	for _, n := range signingNames {
		found = found || a.Service == n
	}
	switch {
	case !found:
		return invalidSignature("Credential should be scoped to correct service: '%s'.", signingNames[0])
	case a.Terminator != scopeTerminator:
		return invalidSignature("Credential should be scoped with a valid terminator: '%s', not '%s'.", scopeTerminator, echo(a.Terminator))
	}
	return nil
}

// requestTime reads the signing time and checks it against the scope's
// date.
func requestTime(r *http.Request, a authorization) (time.Time, *Error) {
	t, err := signingTime(r.Header)
	if err != nil {
		return time.Time{}, err
	}
	if stamp := t.Format(amzDateFormat); a.Date != stamp[:8] {
		return time.Time{}, invalidSignature("Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '%s' != '%s', from '%s'.",
			echo(a.Date), stamp[:8], stamp)
	}
	return t, nil
}

// signingTime is X-Amz-Date, or Date for clients that send only that.
func signingTime(h http.Header) (time.Time, *Error) {
	if v := h.Get("X-Amz-Date"); v != "" {
		t, err := time.Parse(amzDateFormat, v)
		if err != nil {
			return time.Time{}, incomplete("X-Amz-Date must be in ISO 8601 basic format (yyyyMMddTHHmmssZ), got '%s'.", echo(v))
		}
		return t, nil
	}
	if v := h.Get("Date"); v != "" {
		t, err := http.ParseTime(v)
		if err != nil {
			return time.Time{}, incomplete("Date must be an HTTP date, got '%s'.", echo(v))
		}
		return t.UTC(), nil
	}
	return time.Time{}, incomplete("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.")
}

func (v *Verifier) checkSkew(signedAt time.Time) *Error {
	now := time.Now()
	if v.Now != nil {
		now = v.Now()
	}
	now = now.UTC()
	skew := v.MaxSkew
	if skew <= 0 {
		skew = defaultMaxSkew
	}
	window := skewText(skew)
	switch {
	case signedAt.Before(now.Add(-skew)):
		return invalidSignature("Signature expired: %s is now earlier than %s (%s - %s)",
			signedAt.Format(amzDateFormat), now.Add(-skew).Format(amzDateFormat), now.Format(amzDateFormat), window)
	case signedAt.After(now.Add(skew)):
		return invalidSignature("Signature not yet current: %s is still later than %s (%s + %s)",
			signedAt.Format(amzDateFormat), now.Add(skew).Format(amzDateFormat), now.Format(amzDateFormat), window)
	}
	return nil
}

// payloadHash is what the client hashed: X-Amz-Content-Sha256 when sent,
// else the body's SHA-256. The header must match the body, or a replayed
// signature would vouch for any body (UNSIGNED-PAYLOAD included).
func payloadHash(r *http.Request, body []byte) (string, *Error) {
	sum := sha256.Sum256(body)
	actual := hex.EncodeToString(sum[:])
	claimed := r.Header.Get("X-Amz-Content-Sha256")
	if claimed == "" {
		return actual, nil
	}
	if !strings.EqualFold(claimed, actual) {
		return "", invalidSignature("The provided 'x-amz-content-sha256' header does not match what was computed.")
	}
	return claimed, nil
}

func (v *Verifier) signature(secret string, a authorization, signedAt time.Time, canonical string) string {
	sum := sha256.Sum256([]byte(canonical))
	toSign := sigAlgorithm + "\n" + signedAt.Format(amzDateFormat) + "\n" + a.scope() + "\n" + hex.EncodeToString(sum[:])
	key := v.keys.get(signingKeyID{secret: secret, date: a.Date, region: a.Region, service: a.Service})
	return hex.EncodeToString(hmacSHA256(key, toSign))
}

// skewText writes the window the way AWS does: "15 min.".
func skewText(d time.Duration) string {
	if d%time.Minute == 0 {
		return strconv.FormatInt(int64(d/time.Minute), 10) + " min."
	}
	return d.String()
}

func invalidSignature(format string, args ...any) *Error {
	return NewError(http.StatusBadRequest, codeInvalidSignature, format, args...)
}

func hmacSHA256(key []byte, data string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(data))
	return h.Sum(nil)
}

type signingKeyID struct{ secret, date, region, service string }

// signingKeys caches derived signing keys: four HMACs per request add up,
// and a client reuses one scope all day. The bound is crude (start over
// when full) because the working set is a handful of principals × regions.
type signingKeys struct {
	mu   sync.Mutex
	keys map[signingKeyID][]byte
}

func (c *signingKeys) get(id signingKeyID) []byte {
	c.mu.Lock()
	key, ok := c.keys[id]
	c.mu.Unlock()
	if ok {
		return key
	}
	key = hmacSHA256([]byte("AWS4"+id.secret), id.date)
	key = hmacSHA256(key, id.region)
	key = hmacSHA256(key, id.service)
	key = hmacSHA256(key, scopeTerminator)
	c.mu.Lock()
	if c.keys == nil || len(c.keys) >= keyCacheSize {
		c.keys = make(map[signingKeyID][]byte, keyCacheSize)
	}
	c.keys[id] = key
	c.mu.Unlock()
	return key
}
