package awsapi

import (
	"bufio"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Principal is one set of credentials that may sign requests. Name is the
// section it came from in the credentials file.
type Principal struct {
	Name            string
	AccessKeyID     string
	SecretAccessKey string
}

// Keyring holds the principals that may sign requests, by access key ID.
// It is immutable once built and safe for concurrent use.
type Keyring struct {
	byAccessKey map[string]Principal
}

// NewKeyring builds a keyring from principals. Every principal needs an
// access key ID and a secret, and access key IDs must be unique.
func NewKeyring(principals ...Principal) (*Keyring, error) {
	k := &Keyring{byAccessKey: make(map[string]Principal, len(principals))}
	for _, p := range principals {
		switch {
		case p.AccessKeyID == "":
			return nil, fmt.Errorf("principal %q has no access key id", p.Name)
		case p.SecretAccessKey == "":
			return nil, fmt.Errorf("principal %q has no secret access key", p.Name)
		}
		if prev, dup := k.byAccessKey[p.AccessKeyID]; dup {
			return nil, fmt.Errorf("access key id %s is used by both %q and %q", p.AccessKeyID, prev.Name, p.Name)
		}
		k.byAccessKey[p.AccessKeyID] = p
	}
	return k, nil
}

// Lookup returns the principal with the given access key ID.
func (k *Keyring) Lookup(accessKeyID string) (Principal, bool) {
	if k == nil {
		return Principal{}, false
	}
	p, ok := k.byAccessKey[accessKeyID]
	return p, ok
}

// Principals lists the keyring's principals ordered by name.
func (k *Keyring) Principals() []Principal {
	out := make([]Principal, 0, len(k.byAccessKey))
	for _, p := range k.byAccessKey {
		out = append(out, p)
	}
	slices.SortFunc(out, func(a, b Principal) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// LoadCredentialsFile reads a keyring from a file in the AWS shared
// credentials format (see ParseCredentials).
func LoadCredentialsFile(path string) (*Keyring, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("load credentials: %w", err)
	}
	defer f.Close()
	k, err := ParseCredentials(f)
	if err != nil {
		return nil, fmt.Errorf("load credentials %s: %w", path, err)
	}
	return k, nil
}

// ParseCredentials reads the AWS shared credentials format: [section] lines
// followed by "aws_access_key_id = …" and "aws_secret_access_key = …".
// Lines starting with # or ; are comments; other keys (aws_session_token,
// region, …) are ignored. Each section must carry both a key and a secret.
func ParseCredentials(r io.Reader) (*Keyring, error) {
	sections, err := scanSections(r)
	if err != nil {
		return nil, err
	}
	if len(sections) == 0 {
		return nil, errors.New("no credentials: expected at least one [section]")
	}
	principals := make([]Principal, 0, len(sections))
	for _, s := range sections {
		switch {
		case s.AccessKeyID == "":
			return nil, fmt.Errorf("line %d: section [%s] has no aws_access_key_id", s.line, s.Name)
		case s.SecretAccessKey == "":
			return nil, fmt.Errorf("line %d: section [%s] has no aws_secret_access_key", s.line, s.Name)
		}
		principals = append(principals, s.Principal)
	}
	return NewKeyring(principals...)
}

type section struct {
	Principal
	line int
}

// scanSections splits the file into sections in file order.
func scanSections(r io.Reader) ([]*section, error) {
	var sections []*section
	var cur *section
	seen := map[string]bool{}
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || line[0] == '#' || line[0] == ';':
			continue
		case line[0] == '[':
			name, ok := strings.CutSuffix(line[1:], "]")
			name = strings.TrimSpace(name)
			if !ok || name == "" {
				return nil, fmt.Errorf("line %d: malformed section header %q", n, line)
			}
			if seen[name] {
				return nil, fmt.Errorf("line %d: duplicate section [%s]", n, name)
			}
			seen[name] = true
			cur = &section{Principal: Principal{Name: name}, line: n}
			sections = append(sections, cur)
		default:
			if err := cur.set(line, n); err != nil {
				return nil, err
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read credentials: %w", err)
	}
	return sections, nil
}

// set applies one "key = value" line to the section.
func (s *section) set(line string, n int) error {
	key, value, ok := strings.Cut(line, "=")
	if !ok {
		return fmt.Errorf("line %d: expected \"key = value\" or [section], got %q", n, line)
	}
	if s == nil {
		return fmt.Errorf("line %d: %q appears before any [section]", n, strings.TrimSpace(key))
	}
	key, value = strings.ToLower(strings.TrimSpace(key)), strings.TrimSpace(value)
	var field *string
	switch key {
	case "aws_access_key_id":
		field = &s.AccessKeyID
	case "aws_secret_access_key":
		field = &s.SecretAccessKey
	default:
		return nil
	}
	if *field != "" {
		return fmt.Errorf("line %d: %s set twice in section [%s]", n, key, s.Name)
	}
	if value == "" {
		return fmt.Errorf("line %d: %s is empty", n, key)
	}
	*field = value
	return nil
}

// GenerateCredentialsFile creates a credentials file at path holding one
// fresh principal in a [default] section, readable by the owner only. It
// never overwrites an existing file; the parent directory is created (mode
// 0700) when missing.
func GenerateCredentialsFile(path string) (Principal, error) {
	p, err := newPrincipal("default")
	if err != nil {
		return Principal{}, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return Principal{}, fmt.Errorf("generate credentials: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return Principal{}, fmt.Errorf("generate credentials: %w", err)
	}
	_, err = fmt.Fprintf(f, "# Gantry API credentials. Keep this file private.\n[%s]\naws_access_key_id = %s\naws_secret_access_key = %s\n",
		p.Name, p.AccessKeyID, p.SecretAccessKey)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(path) // a half-written file would fail every later start
		return Principal{}, fmt.Errorf("generate credentials: %w", err)
	}
	return p, nil
}

const (
	accessKeyAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	secretAlphabet    = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
)

// newPrincipal makes credentials shaped like AWS's long-term keys, so tools
// that sanity-check their format accept them.
func newPrincipal(name string) (Principal, error) {
	id, err := randomString(accessKeyAlphabet, 16)
	if err != nil {
		return Principal{}, err
	}
	secret, err := randomString(secretAlphabet, 40)
	if err != nil {
		return Principal{}, err
	}
	return Principal{Name: name, AccessKeyID: "AKIA" + id, SecretAccessKey: secret}, nil
}

// randomString draws n characters uniformly from alphabet (at most 256
// characters), rejecting bytes that would bias the modulo.
func randomString(alphabet string, n int) (string, error) {
	limit := 256 - 256%len(alphabet)
	out := make([]byte, 0, n)
	buf := make([]byte, 2*n)
	for len(out) < n {
		if _, err := rand.Read(buf); err != nil {
			return "", fmt.Errorf("generate credentials: %w", err)
		}
		for _, b := range buf {
			if int(b) < limit && len(out) < n {
				out = append(out, alphabet[int(b)%len(alphabet)])
			}
		}
	}
	return string(out), nil
}
