package internal_test

import (
	"encoding/json"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/gantry-dev/gantry"

// thirdParty in a layering rule stands for every module outside the
// standard library and Gantry's own.
const thirdParty = "third-party"

func forbidden(dep, banned string) bool {
	if banned == thirdParty {
		first, _, _ := strings.Cut(dep, "/")
		return strings.Contains(first, ".") && !strings.HasPrefix(dep, module+"/")
	}
	return strings.HasPrefix(dep, banned)
}

// layering lists, per package, the imports it must never have (directly or
// through others). Prefixes match whole subtrees.
var layering = map[string][]string{
	// The wire shapes are the base of everything: standard library only.
	"internal/ecs": {module + "/", thirdParty},
	// The protocol knows no ECS action and no state.
	"internal/awsapi": {module + "/", "go.etcd.io/"},
	// The store knows shapes, not handlers or the protocol.
	"internal/store": {module + "/internal/api", module + "/internal/awsapi", module + "/internal/server", module + "/cmd"},
	// Handlers reach etcd only through the store (see etcdImporters).
	"internal/api":        {module + "/internal/server", module + "/internal/etcdserver", module + "/cmd"},
	"internal/etcdserver": {module + "/"},
	// The runtime boundary is the agent's only view of containers.
	"internal/runtime":     {module + "/", thirdParty},
	"internal/runtime/sim": {module + "/internal/runtime/docker", module + "/internal/ecs", thirdParty},
	"internal/server":      {module + "/cmd"},
	// The agent talks to the control plane only through the protocol.
	"internal/agent": {module + "/internal/api", module + "/internal/agentapi", module + "/internal/store",
		module + "/internal/server", module + "/internal/etcdserver", module + "/internal/awsapi", module + "/cmd"},
	"internal/agentproto": {module + "/internal/api", module + "/internal/agentapi", module + "/internal/store",
		module + "/internal/awsapi", module + "/internal/runtime", thirdParty},
	"internal/agentapi": {module + "/internal/api", module + "/internal/server", module + "/cmd"},
	// Placement is pure: shapes in, choices out.
	"internal/placement": {module + "/internal/store", module + "/internal/api", module + "/internal/runtime", thirdParty},
	// The service scheduler's decisions are pure too: no store, no clock.
	"internal/reconcile": {module + "/internal/store", module + "/internal/api", module + "/internal/controller",
		module + "/internal/runtime", thirdParty},
}

// etcdImporters and dockerImporters are the only packages allowed to import
// etcd and the Docker SDK directly.
var (
	etcdImporters   = []string{"internal/store", "internal/etcdserver"}
	dockerImporters = []string{"internal/runtime/docker"}
)

type pkg struct {
	ImportPath string
	Imports    []string
	Deps       []string
}

func listPackages(t *testing.T) []pkg {
	t.Helper()
	out, err := exec.Command("go", "list", "-json", module+"/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	var pkgs []pkg
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for dec.More() {
		var p pkg
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs
}

func TestLayering(t *testing.T) {
	for _, p := range listPackages(t) {
		rel := strings.TrimPrefix(strings.TrimPrefix(p.ImportPath, module), "/")
		for _, dep := range p.Deps {
			for _, banned := range layering[rel] {
				if forbidden(dep, banned) && dep != p.ImportPath {
					t.Errorf("%s depends on %s, which its layer forbids", rel, dep)
				}
			}
		}
		for _, dep := range p.Deps {
			testOnly := strings.HasPrefix(dep, module+"/internal/testenv") || strings.HasSuffix(dep, "test")
			if strings.HasPrefix(dep, module) && testOnly && !strings.HasSuffix(rel, "test") && rel != "internal/testenv" {
				t.Errorf("%s depends on the test-only package %s", rel, dep)
			}
		}
		for _, imp := range p.Imports {
			if strings.HasPrefix(imp, "go.etcd.io/") && !slices.Contains(etcdImporters, rel) && !strings.HasSuffix(rel, "test") {
				t.Errorf("%s imports %s; only %v may import etcd", rel, imp, etcdImporters)
			}
			if strings.HasPrefix(imp, "github.com/moby/") && !slices.Contains(dockerImporters, rel) {
				t.Errorf("%s imports %s; only %v may import the Docker SDK", rel, imp, dockerImporters)
			}
			if imp == "testing" && !strings.HasSuffix(rel, "test") && rel != "internal/testenv" {
				t.Errorf("%s imports testing in non-test code", rel)
			}
			if strings.HasPrefix(imp, module+"/cmd") {
				t.Errorf("%s imports %s; nothing imports cmd", rel, imp)
			}
		}
	}
}
