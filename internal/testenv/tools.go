package testenv

import (
	"os"
	"os/exec"
	"testing"
)

// StrictEnv is the environment variable CI sets to 1 so that a test whose
// external tool (Docker, the aws CLI, …) is missing fails instead of
// skipping.
const StrictEnv = "GANTRY_REQUIRE_DOCKER"

// Strict reports whether missing external tools fail tests.
func Strict() bool { return os.Getenv(StrictEnv) == "1" }

// RequireTool skips the test when path is not an executable file, or fails
// it in strict mode (GANTRY_REQUIRE_DOCKER=1), where every tool the tests
// use must be installed.
func RequireTool(t testing.TB, path string) {
	t.Helper()
	if _, err := exec.LookPath(path); err != nil {
		msg := "this test needs " + path + ", which is not an executable file (" + err.Error() + ")"
		if Strict() {
			t.Fatalf("%s; %s=1 requires every external tool", msg, StrictEnv)
		}
		t.Skipf("%s; install it to run this test (set %s=1 to fail instead of skipping)", msg, StrictEnv)
	}
}
