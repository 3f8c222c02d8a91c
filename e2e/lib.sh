#!/usr/bin/env bash
# Helpers the end-to-end scripts share; source it after setting GANTRY_ENDPOINT,
# AWS (the CLI) and PYTHON.

errfile=$(mktemp)
trap 'rm -f "$errfile"' EXIT

n=0
step() {
	n=$((n + 1))
	printf 'e2e: [%02d] %s\n' "$n" "$*"
}

fail() {
	printf 'e2e: FAIL: %s\n' "$*" >&2
	exit 1
}

# ecs ARGS…: runs "aws ecs ARGS…" with JSON output and prints the answer;
# a non-zero exit fails the run with the CLI's error.
ecs() {
	local out
	if ! out=$("$AWS" --endpoint-url "$GANTRY_ENDPOINT" --output json ecs "$@" 2>"$errfile"); then
		fail "aws ecs $* exited non-zero: $(cat "$errfile")"
	fi
	printf '%s\n' "$out"
}

# ecs_text QUERY ARGS…: like ecs, with --query QUERY and text output.
ecs_text() {
	local query=$1 out
	shift
	if ! out=$("$AWS" --endpoint-url "$GANTRY_ENDPOINT" --output text --query "$query" ecs "$@" 2>"$errfile"); then
		fail "aws ecs $* --query $query exited non-zero: $(cat "$errfile")"
	fi
	printf '%s\n' "$out"
}

# has_operation OP: whether this CLI knows "aws ecs OP" (older releases
# predate some actions). Asking for the operation's help without arguments
# would page or need groff, so call it with an argument it rejects instead:
# a known operation complains about the argument, an unknown one about the
# operation.
has_operation() {
	local out
	out=$("$AWS" --endpoint-url "$GANTRY_ENDPOINT" ecs "$1" --gantry-probe 2>&1 || true)
	[[ $out != *"Invalid choice"* ]]
}

# jget JSON EXPR: evaluates the Python expression EXPR with d bound to the
# parsed JSON; prints strings as they are and everything else as JSON.
jget() {
	"$PYTHON" -c '
import json, sys
d = json.loads(sys.argv[1])
v = eval(sys.argv[2], {"d": d})
print(v if isinstance(v, str) else json.dumps(v, sort_keys=True))
' "$1" "$2"
}

# check WHAT JSON EXPR WANT: fails unless EXPR on JSON prints WANT.
check() {
	local what=$1 json=$2 expr=$3 want=$4 got
	if ! got=$(jget "$json" "$expr" 2>&1); then
		fail "$what: cannot evaluate $expr: $got
  response: $json"
	fi
	if [[ $got != "$want" ]]; then
		fail "$what
  expected: $expr == $want
  got:      $got
  response: $json"
	fi
}

# expect WHAT GOT WANT: fails unless GOT equals WANT.
expect() {
	[[ $2 == "$3" ]] || fail "$1
  expected: $3
  got:      $2"
}

