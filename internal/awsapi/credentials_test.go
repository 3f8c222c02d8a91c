package awsapi

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseCredentials(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		file    string
		want    []Principal // looked up by access key id
		wantErr string      // substring
	}{
		{
			name: "two sections with comments and noise",
			file: `# written by hand
; another comment
[default]
aws_access_key_id = AKIAONE
aws_secret_access_key=secret/one+x==
aws_session_token = ignored
region = us-east-1

  [ ci ]
	AWS_ACCESS_KEY_ID   =   AKIATWO
	aws_secret_access_key = two
`,
			want: []Principal{
				{Name: "default", AccessKeyID: "AKIAONE", SecretAccessKey: "secret/one+x=="},
				{Name: "ci", AccessKeyID: "AKIATWO", SecretAccessKey: "two"},
			},
		},
		{name: "empty file", file: "\n# nothing\n", wantErr: "no credentials"},
		{name: "key before any section", file: "aws_access_key_id = A\n", wantErr: "line 1: \"aws_access_key_id\" appears before any [section]"},
		{name: "missing secret", file: "[a]\naws_access_key_id = A\n\n[b]\naws_access_key_id = B\naws_secret_access_key = s\n",
			wantErr: "line 1: section [a] has no aws_secret_access_key"},
		{name: "missing key", file: "[a]\naws_secret_access_key = s\n", wantErr: "line 1: section [a] has no aws_access_key_id"},
		{name: "section with neither", file: "[a]\nregion = x\n", wantErr: "section [a] has no aws_access_key_id"},
		{name: "duplicate access key id", file: "[a]\naws_access_key_id = A\naws_secret_access_key = s\n[b]\naws_access_key_id = A\naws_secret_access_key = t\n",
			wantErr: `access key id A is used by both "a" and "b"`},
		{name: "duplicate section", file: "[a]\naws_access_key_id = A\naws_secret_access_key = s\n[a]\n", wantErr: "line 4: duplicate section [a]"},
		{name: "key set twice", file: "[a]\naws_access_key_id = A\naws_access_key_id = B\n", wantErr: "line 3: aws_access_key_id set twice in section [a]"},
		{name: "empty value", file: "[a]\naws_access_key_id =\n", wantErr: "line 2: aws_access_key_id is empty"},
		{name: "no equals", file: "[a]\naws_access_key_id A\n", wantErr: "line 2: expected \"key = value\" or [section]"},
		{name: "unclosed section", file: "[a\n", wantErr: "line 1: malformed section header"},
		{name: "empty section name", file: "[ ]\n", wantErr: "line 1: malformed section header"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			k, err := ParseCredentials(strings.NewReader(tt.file))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, want := range tt.want {
				got, ok := k.Lookup(want.AccessKeyID)
				if !ok {
					t.Fatalf("Lookup(%s) found nothing", want.AccessKeyID)
				}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("Lookup(%s) (-want +got):\n%s", want.AccessKeyID, diff)
				}
			}
			if _, ok := k.Lookup("AKIANOTTHERE"); ok {
				t.Error("Lookup found an unknown key")
			}
		})
	}
}

func TestNilKeyringLooksUpNothing(t *testing.T) {
	t.Parallel()
	var k *Keyring
	if _, ok := k.Lookup(testPrincipal.AccessKeyID); ok {
		t.Error("nil keyring found a principal")
	}
}

func TestGenerateCredentialsFile(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "etc", "gantry")
	path := filepath.Join(dir, "credentials")

	p, err := GenerateCredentialsFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^AKIA[A-Z0-9]{16}$`).MatchString(p.AccessKeyID) {
		t.Errorf("access key id %q is not AKIA + 16 upper-case alphanumerics", p.AccessKeyID)
	}
	if !regexp.MustCompile(`^[A-Za-z0-9+/]{40}$`).MatchString(p.SecretAccessKey) {
		t.Errorf("secret %q is not 40 base64 characters", p.SecretAccessKey)
	}
	if p.Name != "default" {
		t.Errorf("name = %q, want default", p.Name)
	}
	assertMode(t, path, 0o600)
	assertMode(t, dir, 0o700)

	k, err := LoadCredentialsFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got, ok := k.Lookup(p.AccessKeyID); !ok || got != p {
		t.Errorf("reloaded %+v, %v; want %+v", got, ok, p)
	}

	before, _ := os.ReadFile(path)
	if _, err := GenerateCredentialsFile(path); !errors.Is(err, fs.ErrExist) {
		t.Errorf("second GenerateCredentialsFile: err = %v, want fs.ErrExist", err)
	}
	if after, _ := os.ReadFile(path); string(after) != string(before) {
		t.Error("second GenerateCredentialsFile changed the existing file")
	}
	q, err := GenerateCredentialsFile(filepath.Join(dir, "other"))
	if err != nil {
		t.Fatal(err)
	}
	if q.AccessKeyID == p.AccessKeyID || q.SecretAccessKey == p.SecretAccessKey {
		t.Error("two generated principals share a key or secret")
	}
}

func TestLoadCredentialsFileNamesThePath(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "credentials")
	if err := os.WriteFile(path, []byte("[a]\noops\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := LoadCredentialsFile(path)
	if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "line 2") {
		t.Errorf("err = %v, want it to name %s and line 2", err, path)
	}
	if _, err := LoadCredentialsFile(filepath.Join(t.TempDir(), "missing")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: err = %v, want fs.ErrNotExist", err)
	}
}

func assertMode(t *testing.T, path string, want fs.FileMode) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != want {
		t.Errorf("%s has mode %v, want %v", path, got, want)
	}
}

func TestRandomStringUsesWholeAlphabet(t *testing.T) {
	t.Parallel()
	seen := map[rune]bool{}
	for range 200 {
		s, err := randomString(accessKeyAlphabet, 16)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range s {
			seen[r] = true
		}
	}
	if len(seen) != len(accessKeyAlphabet) {
		t.Errorf("3200 draws used %d of %d characters", len(seen), len(accessKeyAlphabet))
	}
}
