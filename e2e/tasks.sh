#!/usr/bin/env bash
# End-to-end check of `gantry dev` with the unmodified AWS CLI v2: a bridge
# web server reached through its dynamic host port, then an awsvpc task
# reached at its private IP, every state checked with describe-tasks.
#
#   GANTRY_ENDPOINT=http://127.0.0.1:7700 IMAGE=<local image with busybox httpd> \
#   AWS_ACCESS_KEY_ID=… AWS_SECRET_ACCESS_KEY=… AWS_DEFAULT_REGION=us-east-1 \
#   bash e2e/tasks.sh
#
# IMAGE must hold busybox (sh, httpd) and /www/index.html; no registry is
# needed, the agent uses the local image.
set -euo pipefail

: "${GANTRY_ENDPOINT:?set GANTRY_ENDPOINT to the Gantry server URL}"
: "${IMAGE:?set IMAGE to a local image with busybox httpd}"
: "${AWS_DEFAULT_REGION:?set AWS_DEFAULT_REGION}"
AWS=${AWS:-/usr/bin/aws}
PYTHON=${PYTHON:-python3}
export AWS_PAGER=""
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=e2e/lib.sh
source "$here/lib.sh"

# fetch URL: the body served at URL, retried for a few seconds while the
# server in the container starts.
fetch() {
	local i
	for i in $(seq 50); do
		if "$PYTHON" -c 'import sys, urllib.request; print(urllib.request.urlopen(sys.argv[1], timeout=2).read().decode())' "$1" 2>/dev/null; then
			return 0
		fi
		sleep 0.2
	done
	fail "nothing answered at $1"
}

# wait_status TASK STATUS: polls describe-tasks until the task's lastStatus
# is STATUS (the CLI's own waiters poll every 6 s).
wait_status() {
	local i got
	for i in $(seq 300); do
		got=$(ecs_text 'tasks[0].lastStatus' describe-tasks --cluster default --tasks "$1")
		[[ $got == "$2" ]] && return 0
		if [[ $got == STOPPED ]]; then
			fail "task $1 stopped while waiting for $2: $(ecs describe-tasks --cluster default --tasks "$1")"
		fi
		sleep 0.1
	done
	fail "task $1 is still $got, want $2"
}

web_container='{"name":"web","image":"'"$IMAGE"'","essential":true,"memory":64,"stopTimeout":2,
  "command":["httpd","-f","-p","8080","-h","/www"],
  "portMappings":[{"containerPort":8080,"protocol":"tcp"}]}'

step "register-task-definition web (bridge, dynamic host port)"
out=$(ecs register-task-definition --family e2e-web --network-mode bridge --container-definitions "[$web_container]")
check "web registered" "$out" 'd["taskDefinition"]["status"]' ACTIVE

step "list-container-instances --filter (cluster query language)"
out=$(ecs list-container-instances --cluster default --filter "attribute:ecs.os-type == linux and agentConnected == true")
check "one linux instance" "$out" 'len(d["containerInstanceArns"])' 1
out=$(ecs list-container-instances --cluster default --filter "attribute:ecs.instance-type =~ c5.*")
check "no c5 instance" "$out" 'len(d["containerInstanceArns"])' 0

step "run-task with a memberOf nobody meets"
out=$(ecs run-task --cluster default --task-definition e2e-web \
	--placement-constraints 'type=memberOf,expression=attribute:ecs.instance-type == c5.large')
check "nothing placed" "$out" 'len(d["tasks"])' 0
check "failure reason" "$out" 'd["failures"][0]["reason"]' "MemberOf placement constraint unsatisfied."

step "run-task web (binpack memory, memberOf linux)"
out=$(ecs run-task --cluster default --task-definition e2e-web --started-by e2e \
	--placement-strategy type=binpack,field=memory \
	--placement-constraints 'type=memberOf,expression=attribute:ecs.os-type == linux')
check "run-task failures" "$out" 'd["failures"]' '[]'
check "run-task desired" "$out" 'd["tasks"][0]["desiredStatus"]' RUNNING
check "run-task placed" "$out" 'd["tasks"][0]["containerInstanceArn"].split(":")[5].split("/")[0]' container-instance
task=$(jget "$out" 'd["tasks"][0]["taskArn"]')

step "wait for RUNNING"
wait_status "$task" RUNNING
out=$(ecs describe-tasks --cluster default --tasks "$task")
check "web running" "$out" 'd["tasks"][0]["lastStatus"]' RUNNING
check "web container running" "$out" 'd["tasks"][0]["containers"][0]["lastStatus"]' RUNNING
check "web has a runtime ID" "$out" 'len(d["tasks"][0]["containers"][0]["runtimeId"]) > 0' true
check "web startedAt" "$out" '"startedAt" in d["tasks"][0]' true
check "web binds 8080" "$out" 'd["tasks"][0]["containers"][0]["networkBindings"][0]["containerPort"]' 8080
port=$(jget "$out" 'd["tasks"][0]["containers"][0]["networkBindings"][0]["hostPort"]')

step "curl the web server on host port $port"
body=$(fetch "http://127.0.0.1:$port/")
[[ -n $body ]] || fail "empty answer from the web server"

step "stop-task web"
out=$(ecs stop-task --cluster default --task "$task" --reason "e2e done")
check "stop desired" "$out" 'd["task"]["desiredStatus"]' STOPPED
wait_status "$task" STOPPED
out=$(ecs describe-tasks --cluster default --tasks "$task")
check "web stopped" "$out" 'd["tasks"][0]["lastStatus"]' STOPPED
check "web stop code" "$out" 'd["tasks"][0]["stopCode"]' UserInitiated
check "web stopped reason" "$out" 'd["tasks"][0]["stoppedReason"]' "e2e done"
check "web container stopped" "$out" 'd["tasks"][0]["containers"][0]["lastStatus"]' STOPPED

step "register-task-definition vpcweb (awsvpc)"
out=$(ecs register-task-definition --family e2e-vpcweb --network-mode awsvpc --container-definitions "[$web_container]")
check "vpcweb registered" "$out" 'd["taskDefinition"]["networkMode"]' awsvpc

step "run-task vpcweb in subnet-local"
out=$(ecs run-task --cluster default --task-definition e2e-vpcweb \
	--network-configuration 'awsvpcConfiguration={subnets=[subnet-local],assignPublicIp=DISABLED}')
check "vpcweb failures" "$out" 'd["failures"]' '[]'
check "vpcweb provisioning" "$out" 'd["tasks"][0]["lastStatus"]' PROVISIONING
check "vpcweb ENI" "$out" 'd["tasks"][0]["attachments"][0]["type"]' ElasticNetworkInterface
task=$(jget "$out" 'd["tasks"][0]["taskArn"]')
wait_status "$task" RUNNING
out=$(ecs describe-tasks --cluster default --tasks "$task")
check "vpcweb attached" "$out" 'd["tasks"][0]["attachments"][0]["status"]' ATTACHED
ip=$(jget "$out" '[x["value"] for x in d["tasks"][0]["attachments"][0]["details"] if x["name"] == "privateIPv4Address"][0]')
check "container interface" "$out" 'd["tasks"][0]["containers"][0]["networkInterfaces"][0]["privateIpv4Address"]' "$ip"

step "curl the awsvpc task at $ip:8080"
body=$(fetch "http://$ip:8080/")
[[ -n $body ]] || fail "empty answer from the awsvpc task"

step "stop-task vpcweb"
ecs stop-task --cluster default --task "$task" >/dev/null
wait_status "$task" STOPPED
out=$(ecs describe-tasks --cluster default --tasks "$task")
check "vpcweb ENI deleted" "$out" 'd["tasks"][0]["attachments"][0]["status"]' DELETED

echo "e2e: ok"
