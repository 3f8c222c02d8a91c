package awsapi

import (
	"net/http"
	"strings"
)

const (
	sigAlgorithm    = "AWS4-HMAC-SHA256"
	scopeTerminator = "aws4_request"

	// maxEchoed bounds how much of a client's header an error repeats.
	maxEchoed = 256
)

// authorization is a parsed SigV4 Authorization header.
type authorization struct {
	AccessKeyID   string
	Date          string // yyyymmdd from the credential scope
	Region        string
	Service       string
	Terminator    string
	SignedHeaders []string
	Signature     string
}

// scope is the credential scope as it appears in the string to sign.
func (a authorization) scope() string {
	return a.Date + "/" + a.Region + "/" + a.Service + "/" + a.Terminator
}

// String renders the header the way the SDKs write it.
func (a authorization) String() string {
	return sigAlgorithm + " Credential=" + a.AccessKeyID + "/" + a.scope() +
		", SignedHeaders=" + strings.Join(a.SignedHeaders, ";") +
		", Signature=" + a.Signature
}

// parseAuthorization reads "AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…,
// Signature=…". The three parts may come in any order and be separated by
// commas, spaces or both, as AWS itself accepts. Every failure is an
// IncompleteSignatureException (400), worded like AWS's own messages.
func parseAuthorization(header string) (authorization, *Error) {
	fields := strings.FieldsFunc(header, func(r rune) bool { return r == ' ' || r == ',' || r == '\t' })
	if len(fields) == 0 || fields[0] != sigAlgorithm {
		alg := ""
		if len(fields) > 0 {
			alg = fields[0]
		}
		return authorization{}, incomplete("Unsupported AWS 'algorithm': '%s'. Only %s is supported.", echo(alg), sigAlgorithm)
	}
	parts := map[string]string{}
	for _, f := range fields[1:] {
		key, value, ok := strings.Cut(f, "=")
		if !ok {
			return authorization{}, incomplete("'%s' not a valid key=value pair (missing equal-sign) in Authorization header: '%s'.", echo(f), echo(header))
		}
		if _, dup := parts[key]; dup {
			return authorization{}, incomplete("Authorization header has more than one '%s' parameter.", echo(key))
		}
		parts[key] = value // unknown keys are ignored, as nothing signs them
	}
	if err := requireParts(header, parts); err != nil {
		return authorization{}, err
	}
	var a authorization
	if err := a.setCredential(parts["Credential"]); err != nil {
		return authorization{}, err
	}
	if err := a.setSignedHeaders(parts["SignedHeaders"]); err != nil {
		return authorization{}, err
	}
	a.Signature = parts["Signature"]
	return a, nil
}

// requireParts names every missing part at once, in AWS's order and words.
func requireParts(header string, parts map[string]string) *Error {
	var missing []string
	for _, name := range []string{"Credential", "Signature", "SignedHeaders"} {
		if parts[name] == "" {
			missing = append(missing, "Authorization header requires '"+name+"' parameter.")
		}
	}
	if len(missing) == 0 {
		return nil
	}
	return incomplete("%s Authorization=%s", strings.Join(missing, " "), echo(header))
}

func (a *authorization) setCredential(value string) *Error {
	elems := strings.Split(value, "/")
	if len(elems) != 5 {
		return incomplete("Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '%s'", echo(value))
	}
	a.AccessKeyID, a.Date, a.Region, a.Service, a.Terminator = elems[0], elems[1], elems[2], elems[3], elems[4]
	return nil
}

func (a *authorization) setSignedHeaders(value string) *Error {
	names := strings.Split(value, ";")
	hasHost := false
	for _, n := range names {
		if n == "" {
			return incomplete("SignedHeaders has an empty header name: '%s'", echo(value))
		}
		hasHost = hasHost || strings.EqualFold(n, "host")
	}
	if !hasHost {
		return incomplete("'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.")
	}
	a.SignedHeaders = names
	return nil
}

func incomplete(format string, args ...any) *Error {
	return NewError(http.StatusBadRequest, codeIncompleteSig, format, args...)
}

// echo trims a client-supplied value before an error message repeats it.
func echo(s string) string {
	if len(s) > maxEchoed {
		return s[:maxEchoed] + "…"
	}
	return s
}
