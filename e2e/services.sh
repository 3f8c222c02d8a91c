#!/usr/bin/env bash
# End-to-end check of an ECS service on `gantry dev` with the unmodified AWS
# CLI: create-service, `aws ecs wait services-stable`, a rolling update to a
# new revision, wait again, delete-service --force and
# `aws ecs wait services-inactive`, every state checked with describe-services.
#
#   GANTRY_ENDPOINT=http://127.0.0.1:7700 IMAGE=gantry-test/app:1 \
#   AWS_ACCESS_KEY_ID=… AWS_SECRET_ACCESS_KEY=… AWS_DEFAULT_REGION=us-east-1 \
#   bash e2e/services.sh
#
# IMAGE is Gantry's integration-test application (internal/testenv/testapp,
# built by testenv.AppImage): /app serve answers on 8080 and /app check is
# its health check. No registry is needed, the agent uses the local image.
# The tasks run in bridge mode on dynamic host ports, with a container
# health check every 5 s.
#
# The CLI's ECS waiters poll every 15 s. WAITER_DELAY=N makes them poll every
# N seconds instead: the script then puts a copy of the ServicesStable and
# ServicesInactive waiters of the ECS model (same operation, same acceptors,
# only "delay" changed) in a directory on AWS_DATA_PATH, which the CLI
# searches before its own models. Without it the script takes about a
# minute longer.
set -euo pipefail

: "${GANTRY_ENDPOINT:?set GANTRY_ENDPOINT to the Gantry server URL}"
: "${IMAGE:?set IMAGE to the local Gantry test application image}"
: "${AWS_DEFAULT_REGION:?set AWS_DEFAULT_REGION}"
AWS=${AWS:-/usr/bin/aws}
PYTHON=${PYTHON:-python3}
export AWS_PAGER=""
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=e2e/lib.sh
source "$here/lib.sh"

cluster=default
service=e2e-svc
family=e2e-svc

if [[ -n ${WAITER_DELAY:-} ]]; then
	models=$(mktemp -d)
	trap 'rm -rf "$models" "$errfile"' EXIT
	mkdir -p "$models/ecs/2014-11-13"
	cat >"$models/ecs/2014-11-13/waiters-2.json" <<EOF
{
  "version": 2,
  "waiters": {
    "ServicesInactive": {
      "delay": $WAITER_DELAY, "maxAttempts": 40, "operation": "DescribeServices",
      "acceptors": [
        {"matcher": "pathAny", "argument": "failures[].reason", "state": "failure", "expected": "MISSING"},
        {"matcher": "pathAny", "argument": "services[].status", "state": "success", "expected": "INACTIVE"}
      ]
    },
    "ServicesStable": {
      "delay": $WAITER_DELAY, "maxAttempts": 40, "operation": "DescribeServices",
      "acceptors": [
        {"matcher": "pathAny", "argument": "failures[].reason", "state": "failure", "expected": "MISSING"},
        {"matcher": "pathAny", "argument": "services[].status", "state": "failure", "expected": "DRAINING"},
        {"matcher": "pathAny", "argument": "services[].status", "state": "failure", "expected": "INACTIVE"},
        {"matcher": "path", "argument": "length(services[?!(length(deployments) == \`1\` && runningCount == desiredCount)]) == \`0\`", "state": "success", "expected": true}
      ]
    }
  }
}
EOF
	export AWS_DATA_PATH="$models${AWS_DATA_PATH:+:$AWS_DATA_PATH}"
fi

# wait_for WAITER: runs "aws ecs wait WAITER" on the service and says how
# long it took.
wait_for() {
	local started=$SECONDS
	ecs wait "$1" --cluster "$cluster" --services "$service" >/dev/null
	printf 'e2e:      %s after %ds\n' "$1" $((SECONDS - started))
}

# wait_completed: polls describe-services until the PRIMARY deployment's
# rolloutState is COMPLETED: its tasks passed their health checks. The
# services-stable waiter only counts RUNNING tasks.
wait_completed() {
	local i got
	for i in $(seq 120); do
		got=$(ecs_text 'services[0].deployments[0].rolloutState' describe-services --cluster "$cluster" --services "$service")
		[[ $got == COMPLETED ]] && return 0
		sleep 0.5
	done
	fail "the deployment is still $got: $(describe)"
}

# register VERSION: registers a revision of the family and prints its ARN.
register() {
	local web='{"name":"web","image":"'"$IMAGE"'","essential":true,"memory":32,"stopTimeout":2,
	  "command":["serve","-port","8080"],
	  "environment":[{"name":"VERSION","value":"'"$1"'"}],
	  "portMappings":[{"containerPort":8080,"hostPort":0,"protocol":"tcp"}],
	  "healthCheck":{"command":["CMD","/app","check","-url","http://127.0.0.1:8080/health"],
	    "interval":5,"timeout":2,"retries":2,"startPeriod":0}}'
	ecs_text 'taskDefinition.taskDefinitionArn' register-task-definition --family "$family" \
		--network-mode bridge --container-definitions "[$web]"
}

describe() {
	ecs describe-services --cluster "$cluster" --services "$service"
}

step "register-task-definition $family (bridge, dynamic host port, health check)"
v1=$(register v1)

step "create-service $service, desired 2"
out=$(ecs create-service --cluster "$cluster" --service-name "$service" --task-definition "$v1" \
	--desired-count 2 --deployment-configuration minimumHealthyPercent=50,maximumPercent=200)
check "service active" "$out" 'd["service"]["status"]' ACTIVE
check "desired count" "$out" 'd["service"]["desiredCount"]' 2
check "one deployment" "$out" 'len(d["service"]["deployments"])' 1
check "deployment primary" "$out" 'd["service"]["deployments"][0]["status"]' PRIMARY
check "deployment ID" "$out" 'd["service"]["deployments"][0]["id"].startswith("ecs-svc/")' true
arn=$(jget "$out" 'd["service"]["serviceArn"]')

step "wait services-stable"
wait_for services-stable
out=$(describe)
check "running 2" "$out" 'd["services"][0]["runningCount"]' 2
check "one deployment" "$out" 'len(d["services"][0]["deployments"])' 1
check "no failures" "$out" 'd["failures"]' '[]'
wait_completed
out=$(describe)
check "tasks healthy" "$out" 'd["services"][0]["deployments"][0]["rolloutState"]' COMPLETED
check "steady state event" "$out" 'd["services"][0]["events"][0]["message"]' "(service $service) has reached a steady state."

step "list-services"
out=$(ecs list-services --cluster "$cluster")
check "service listed" "$out" "\"$arn\" in d[\"serviceArns\"]" true

step "register-task-definition $family (a new revision)"
v2=$(register v2)
[[ $v2 != "$v1" ]] || fail "the second registration returned the same ARN $v1"

step "update-service to the new revision"
out=$(ecs update-service --cluster "$cluster" --service "$service" --task-definition "$v2")
check "service task definition" "$out" 'd["service"]["taskDefinition"]' "$v2"
check "two deployments" "$out" 'len(d["service"]["deployments"])' 2
check "new deployment primary" "$out" '[x["status"] for x in d["service"]["deployments"] if x["taskDefinition"] == "'"$v2"'"]' '["PRIMARY"]'

step "wait services-stable"
wait_for services-stable
out=$(describe)
check "running 2" "$out" 'd["services"][0]["runningCount"]' 2
check "one deployment" "$out" 'len(d["services"][0]["deployments"])' 1
check "deployment of the new revision" "$out" 'd["services"][0]["deployments"][0]["taskDefinition"]' "$v2"
tasks=$(ecs_text 'taskArns' list-tasks --cluster "$cluster" --service-name "$service")
# shellcheck disable=SC2086 # a list of ARNs
out=$(ecs describe-tasks --cluster "$cluster" --tasks $tasks)
check "tasks of the new revision" "$out" 'sorted(set(t["taskDefinitionArn"] for t in d["tasks"]))' "[\"$v2\"]"
check "tasks running" "$out" 'sorted(set(t["lastStatus"] for t in d["tasks"]))' '["RUNNING"]'
check "two tasks" "$out" 'len(d["tasks"])' 2
check "service group" "$out" 'sorted(set(t["group"] for t in d["tasks"]))' "[\"service:$service\"]"
wait_completed
out=$(describe)
deployment=$(jget "$out" 'd["services"][0]["deployments"][0]["id"]')
check "deployment completed event" "$out" 'any(e["message"] == "(service '"$service"') (deployment '"$deployment"') deployment completed." for e in d["services"][0]["events"])' true

step "delete-service --force"
out=$(ecs delete-service --cluster "$cluster" --service "$service" --force)
check "service draining" "$out" 'd["service"]["status"]' DRAINING

step "wait services-inactive"
wait_for services-inactive
out=$(describe)
check "service inactive" "$out" 'd["services"][0]["status"]' INACTIVE
out=$(ecs list-tasks --cluster "$cluster" --service-name "$service")
check "no task left running" "$out" 'd["taskArns"]' '[]'

echo "e2e: ok"
