#!/usr/bin/env bash
# End-to-end check of a running Gantry server with the unmodified AWS CLI v2:
# clusters, task definitions, tags and an error, each answer checked field by
# field.
#
#   GANTRY_ENDPOINT=http://127.0.0.1:7700 \
#   AWS_ACCESS_KEY_ID=… AWS_SECRET_ACCESS_KEY=… AWS_DEFAULT_REGION=us-east-1 \
#   bash e2e/aws-cli.sh
#
# AWS names the CLI (default /usr/bin/aws, Debian's awscli); PYTHON names
# the python3 used to read its JSON. The CLI is given --endpoint-url on
# every call, since some versions ignore AWS_ENDPOINT_URL. Revision numbers
# are checked relative to the first registration, so the script may run
# against a server that has seen it before.
set -euo pipefail

: "${GANTRY_ENDPOINT:?set GANTRY_ENDPOINT to the Gantry server URL, e.g. http://127.0.0.1:7700}"
: "${AWS_ACCESS_KEY_ID:?set AWS_ACCESS_KEY_ID}"
: "${AWS_SECRET_ACCESS_KEY:?set AWS_SECRET_ACCESS_KEY}"
: "${AWS_DEFAULT_REGION:?set AWS_DEFAULT_REGION}"
AWS=${AWS:-/usr/bin/aws}
PYTHON=${PYTHON:-python3}
export AWS_PAGER=""

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
taskdef_json="file://$here/testdata/fargate-web.json"
cluster=gantry-e2e
family=fargate-web

# shellcheck source=e2e/lib.sh
source "$here/lib.sh"

step "create-cluster $cluster with settings and tags"
out=$(ecs create-cluster --cluster-name "$cluster" \
	--settings name=containerInsights,value=enabled \
	--tags key=team,value=platform key=env,value=e2e)
check "create-cluster status" "$out" 'd["cluster"]["status"]' ACTIVE
check "create-cluster name" "$out" 'd["cluster"]["clusterName"]' "$cluster"
check "create-cluster settings" "$out" 'd["cluster"]["settings"]' '[{"name": "containerInsights", "value": "enabled"}]'
cluster_arn=$(jget "$out" 'd["cluster"]["clusterArn"]')
expect "cluster ARN" "$cluster_arn" "arn:aws:ecs:$AWS_DEFAULT_REGION:000000000000:cluster/$cluster"

step "describe-clusters --include TAGS SETTINGS"
out=$(ecs describe-clusters --clusters "$cluster" --include TAGS SETTINGS)
check "describe-clusters failures" "$out" 'd["failures"]' '[]'
check "describe-clusters ARN" "$out" 'd["clusters"][0]["clusterArn"]' "$cluster_arn"
check "describe-clusters tags" "$out" 'sorted((t["key"], t["value"]) for t in d["clusters"][0]["tags"])' '[["env", "e2e"], ["team", "platform"]]'
check "describe-clusters settings" "$out" 'd["clusters"][0]["settings"]' '[{"name": "containerInsights", "value": "enabled"}]'
check "describe-clusters task count" "$out" 'd["clusters"][0]["runningTasksCount"]' 0

step "list-clusters"
out=$(ecs list-clusters)
check "list-clusters contains $cluster" "$out" '"'"$cluster_arn"'" in d["clusterArns"]' true

step "register-task-definition (first)"
out=$(ecs register-task-definition --cli-input-json "$taskdef_json")
rev1=$(jget "$out" 'd["taskDefinition"]["revision"]')
check "register family" "$out" 'd["taskDefinition"]["family"]' "$family"
check "register status" "$out" 'd["taskDefinition"]["status"]' ACTIVE
check "register ARN" "$out" 'd["taskDefinition"]["taskDefinitionArn"]' \
	"arn:aws:ecs:$AWS_DEFAULT_REGION:000000000000:task-definition/$family:$rev1"
check "register tags" "$out" 'sorted(t["key"] for t in d["tags"])' '["app", "team"]'

step "register-task-definition (second) → revision $((rev1 + 1))"
out=$(ecs register-task-definition --cli-input-json "$taskdef_json")
rev2=$((rev1 + 1))
check "second register revision" "$out" 'd["taskDefinition"]["revision"]' "$rev2"
td2_arn=$(jget "$out" 'd["taskDefinition"]["taskDefinitionArn"]')
td1_arn=${td2_arn%:*}:$rev1

step "describe-task-definition $family:$rev1"
out=$(ecs describe-task-definition --task-definition "$family:$rev1" --include TAGS)
check "describe revision" "$out" 'd["taskDefinition"]["revision"]' "$rev1"
check "describe container names" "$out" '[c["name"] for c in d["taskDefinition"]["containerDefinitions"]]' '["app", "otel-collector"]'
check "describe cpu" "$out" 'd["taskDefinition"]["cpu"]' 512
check "describe memory" "$out" 'd["taskDefinition"]["memory"]' 1024
check "describe cpu is a string" "$out" 'type(d["taskDefinition"]["cpu"]).__name__' str
check "describe networkMode" "$out" 'd["taskDefinition"]["networkMode"]' awsvpc
check "describe compatibilities contain FARGATE" "$out" '"FARGATE" in d["taskDefinition"]["compatibilities"]' true
check "describe requiresCompatibilities" "$out" 'd["taskDefinition"]["requiresCompatibilities"]' '["FARGATE"]'
check "describe healthCheck command" "$out" 'd["taskDefinition"]["containerDefinitions"][0]["healthCheck"]["command"]' \
	'["CMD-SHELL", "wget -qO- http://localhost:8080/healthz || exit 1"]'
check "describe port mapping" "$out" 'd["taskDefinition"]["containerDefinitions"][0]["portMappings"][0]["containerPort"]' 8080
check "describe appProtocol" "$out" 'd["taskDefinition"]["containerDefinitions"][0]["portMappings"][0]["appProtocol"]' http
check "describe dependsOn" "$out" 'd["taskDefinition"]["containerDefinitions"][0]["dependsOn"]' \
	'[{"condition": "START", "containerName": "otel-collector"}]'
check "describe secrets" "$out" 'd["taskDefinition"]["containerDefinitions"][0]["secrets"][0]["valueFrom"]' \
	"arn:aws:ssm:us-east-1:123456789012:parameter/fargate-web/database-password"
check "describe log driver" "$out" 'd["taskDefinition"]["containerDefinitions"][0]["logConfiguration"]["logDriver"]' awslogs
check "describe sidecar not essential" "$out" 'd["taskDefinition"]["containerDefinitions"][1]["essential"]' false
check "describe registeredAt present" "$out" 'bool(d["taskDefinition"].get("registeredAt"))' true
check "describe tags" "$out" 'sorted((t["key"], t["value"]) for t in d["tags"])' '[["app", "fargate-web"], ["team", "web"]]'
names=$(ecs_text 'taskDefinition.containerDefinitions[].name' describe-task-definition --task-definition "$family:$rev1")
expect "describe --query container names (text)" "$names" "app	otel-collector"

step "describe-task-definition $family (latest) → revision $rev2"
out=$(ecs describe-task-definition --task-definition "$family")
check "describe by family revision" "$out" 'd["taskDefinition"]["revision"]' "$rev2"
check "describe by family ARN" "$out" 'd["taskDefinition"]["taskDefinitionArn"]' "$td2_arn"

step "list-task-definitions --family-prefix $family --sort DESC"
out=$(ecs list-task-definitions --family-prefix "$family" --sort DESC)
check "list DESC first two" "$out" 'd["taskDefinitionArns"][:2]' "[\"$td2_arn\", \"$td1_arn\"]"
first=$(ecs_text 'taskDefinitionArns[0]' list-task-definitions --family-prefix "$family" --sort DESC)
expect "list DESC --query first (text)" "$first" "$td2_arn"

step "list-task-definition-families --family-prefix $family"
out=$(ecs list-task-definition-families --family-prefix "$family")
check "families contain $family" "$out" '"'"$family"'" in d["families"]' true

step "tag-resource / list-tags-for-resource on $td2_arn"
ecs tag-resource --resource-arn "$td2_arn" --tags key=stage,value=e2e >/dev/null
out=$(ecs list-tags-for-resource --resource-arn "$td2_arn")
check "tags after tag-resource" "$out" 'sorted((t["key"], t["value"]) for t in d["tags"])' \
	'[["app", "fargate-web"], ["stage", "e2e"], ["team", "web"]]'

step "deregister-task-definition $family:$rev1 → INACTIVE"
out=$(ecs deregister-task-definition --task-definition "$family:$rev1")
check "deregister status" "$out" 'd["taskDefinition"]["status"]' INACTIVE
check "deregister revision" "$out" 'd["taskDefinition"]["revision"]' "$rev1"

step "delete-task-definitions $family:$rev1 → DELETE_IN_PROGRESS"
if has_operation delete-task-definitions; then
	out=$(ecs delete-task-definitions --task-definitions "$family:$rev1")
	check "delete failures" "$out" 'd.get("failures", [])' '[]'
	check "delete status" "$out" 'd["taskDefinitions"][0]["status"]' DELETE_IN_PROGRESS
	check "delete ARN" "$out" 'd["taskDefinitions"][0]["taskDefinitionArn"]' "$td1_arn"
	out=$(ecs list-task-definitions --family-prefix "$family" --status DELETE_IN_PROGRESS)
	check "listed as DELETE_IN_PROGRESS" "$out" '"'"$td1_arn"'" in d["taskDefinitionArns"]' true
else
	echo "e2e:      skipped: $("$AWS" --version 2>&1) predates DeleteTaskDefinitions (February 2023)"
fi

step "describe-task-definition nope → ClientException"
if "$AWS" --endpoint-url "$GANTRY_ENDPOINT" --output json ecs describe-task-definition --task-definition nope >/dev/null 2>"$errfile"; then
	fail "describe-task-definition nope
  expected: a non-zero exit with ClientException
  got:      exit 0"
fi
grep -q ClientException "$errfile" || fail "describe-task-definition nope
  expected: ClientException on stderr
  got:      $(cat "$errfile")"

step "delete-cluster $cluster"
out=$(ecs delete-cluster --cluster "$cluster")
check "delete-cluster status" "$out" 'd["cluster"]["status"]' INACTIVE

echo "e2e: ok"
