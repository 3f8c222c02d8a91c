package agentapi

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/internal/agentproto"
	"github.com/gantry-dev/gantry/internal/store"
)

// FuzzSyncRequest feeds arbitrary bodies through the sync decoder and
// merges whatever decodes into a task record: a hostile agent gets an
// error or changes its own task, never a panic. merge says it changed the
// record exactly when the record's JSON changed, and a draft leaves the
// record it was made from as it was.
func FuzzSyncRequest(f *testing.F) {
	f.Add([]byte(`{"digest":"x","wait":true,"tasks":[{"taskArn":"arn:aws:ecs:us-east-1:0:task/c/1","lastStatus":"RUNNING","containers":[{"name":"web","exitCode":1}]}]}`))
	f.Add([]byte(`{"tasks":[{"lastStatus":"STOPPED","privateIPv4Address":"1.2.3.4","stoppedAt":1e300}]}`))
	f.Add([]byte(`{"tasks":null}`))
	f.Add([]byte(`{"tasks":[{"privateIPv4Address":"10.0.0.1","containers":[{"name":"web","runtimeId":"a"},{"name":"web","runtimeId":"b"}]},{"privateIPv4Address":"10.0.0.2","lastStatus":"STOPPED","containers":[{"name":"web","networkBindings":[]}]}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		var req agentproto.SyncRequest
		if decode(body, &req) != nil {
			return
		}
		rec := newRecord()
		for _, obs := range req.Tasks {
			before := jsonOf(t, rec)
			d := draft(rec)
			changed := merge(d, obs, time.Unix(0, 0))
			if after := jsonOf(t, rec); after != before {
				t.Fatalf("merging into a draft changed the record:\n%s\n%s", before, after)
			}
			if changed {
				d.Task.Version--
			}
			if differs := jsonOf(t, d) != before; differs != changed {
				t.Fatalf("merge reported changed=%v, but the record's JSON differs=%v", changed, differs)
			}
			if changed {
				d.Task.Version++
			}
			rec = d
			_, _ = taskKey(obs.TaskArn)
		}
	})
}

func jsonOf(t *testing.T, rec *store.TaskRecord) string {
	raw, err := json.Marshal(rec)
	if err != nil {
		t.Fatal(err)
	}
	return string(raw)
}
