package sim

import (
	"strconv"
	"strings"
	"time"

	"github.com/gantry-dev/gantry/internal/runtime"
)

// Behavior scripts what a simulated container does once started.
type Behavior struct {
	Exits        bool          // exits by itself…
	RunFor       time.Duration // …this long after starting…
	ExitCode     int           // …with this code
	IgnoreTerm   bool          // Stop must wait for its timeout and kill it (137)
	TermExitCode int           // exit code when SIGTERM ends it (default 143)
	Unhealthy    bool          // its health check fails
}

// ParseBehavior reads a container's behaviour from its entry point and
// command, understanding a small vocabulary that real images run too:
//
//	exit N, true, false      exit at once with N, 0, 1
//	sleep N                  exit 0 after N seconds
//	sh -c 'script'           statements separated by ";": the above, plus
//	                         "sleep N & wait", "trap '' TERM" (ignore
//	                         SIGTERM) and "trap 'exit N' TERM" (exit N on it)
//
// Anything else, including no command at all, runs until stopped. A health check fails when its command
// (CMD argv or CMD-SHELL script) would exit non-zero by the same rules, as
// ["CMD-SHELL", "exit 1"] does; every other check passes.
func ParseBehavior(spec runtime.ContainerSpec) Behavior {
	b := Behavior{TermExitCode: 143}
	if argv := append(append([]string(nil), spec.EntryPoint...), spec.Command...); len(argv) > 0 {
		script(&b, statements(argv))
	}
	if hc := spec.HealthCheck; hc != nil && len(hc.Command) > 1 {
		var check Behavior
		switch hc.Command[0] {
		case "CMD-SHELL":
			script(&check, strings.Split(strings.Join(hc.Command[1:], " "), ";"))
		case "CMD":
			script(&check, statements(hc.Command[1:]))
		}
		b.Unhealthy = check.Exits && check.ExitCode != 0
	}
	return b
}

// statements turns an argv into script statements.
func statements(argv []string) []string {
	if len(argv) >= 3 && (argv[0] == "sh" || argv[0] == "/bin/sh") && argv[1] == "-c" {
		return strings.Split(argv[2], ";")
	}
	return []string{strings.Join(argv, " ")}
}

// script interprets statements into b until one runs forever or exits.
func script(b *Behavior, stmts []string) {
	for _, stmt := range stmts {
		words := strings.Fields(strings.TrimSuffix(strings.TrimSpace(stmt), "& wait"))
		if len(words) == 0 {
			continue
		}
		switch {
		case words[0] == "trap" && len(words) >= 3 && words[len(words)-1] == "TERM":
			action := strings.Trim(strings.Join(words[1:len(words)-1], " "), `'"`)
			if action == "" {
				b.IgnoreTerm = true
			} else if code, ok := exitCode(strings.Fields(action)); ok {
				b.TermExitCode = code
			}
		case words[0] == "sleep" && len(words) == 2:
			d, ok := seconds(words[1])
			if !ok {
				return
			}
			b.RunFor += d
		case words[0] == "true" || words[0] == "false" || words[0] == "exit":
			code, ok := exitCode(words)
			if !ok {
				return
			}
			b.Exits, b.ExitCode = true, code
			return
		default:
			return // runs until stopped
		}
	}
	b.Exits = true // the script ran to its end
}

func exitCode(words []string) (int, bool) {
	switch {
	case len(words) == 1 && (words[0] == "true" || words[0] == "exit"):
		return 0, true
	case len(words) == 1 && words[0] == "false":
		return 1, true
	case len(words) == 2 && words[0] == "exit":
		n, err := strconv.Atoi(words[1])
		return n & 0xff, err == nil
	}
	return 0, false
}

func seconds(s string) (time.Duration, bool) {
	if f, err := strconv.ParseFloat(s, 64); err == nil && f >= 0 && f < 1e9 { // not "inf"
		return time.Duration(f * float64(time.Second)), true
	}
	d, err := time.ParseDuration(s)
	return d, err == nil && d >= 0
}
