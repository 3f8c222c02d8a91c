package agentapi

import (
	"testing"
	"time"

	"github.com/gantry-dev/gantry/internal/agentproto"
)

// FuzzSyncRequest feeds arbitrary bodies through the sync decoder and
// merges whatever decodes into a task record: a hostile agent gets an
// error or changes its own task, never a panic.
func FuzzSyncRequest(f *testing.F) {
	f.Add([]byte(`{"digest":"x","wait":true,"tasks":[{"taskArn":"arn:aws:ecs:us-east-1:0:task/c/1","lastStatus":"RUNNING","containers":[{"name":"web","exitCode":1}]}]}`))
	f.Add([]byte(`{"tasks":[{"lastStatus":"STOPPED","privateIPv4Address":"1.2.3.4","stoppedAt":1e300}]}`))
	f.Add([]byte(`{"tasks":null}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		var req agentproto.SyncRequest
		if decode(body, &req) != nil {
			return
		}
		rec := newRecord()
		for _, obs := range req.Tasks {
			merge(rec, obs, time.Unix(0, 0))
			_, _ = taskKey(obs.TaskArn)
		}
	})
}
