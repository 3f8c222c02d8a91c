package agentproto

import (
	"reflect"
	"testing"

	"github.com/gantry-dev/gantry/internal/ecs"
)

// Pack carries each definition once; Unpack restores every task.
func TestPackUnpack(t *testing.T) {
	web := ecs.TaskDefinition{TaskDefinitionArn: "arn:td/web:1", Family: "web"}
	db := ecs.TaskDefinition{TaskDefinitionArn: "arn:td/db:2", Family: "db"}
	tasks := []Task{{TaskArn: "t1", Definition: web}, {TaskArn: "t2", Definition: db}, {TaskArn: "t3", Definition: web}}
	r := SyncResponse{Tasks: append([]Task(nil), tasks...)}
	r.Pack()
	if len(r.Definitions) != 2 || r.Tasks[2].Definition.Family != "" || r.Tasks[2].TaskDefinitionArn != "arn:td/web:1" {
		t.Fatalf("packed %+v", r)
	}
	if err := r.Unpack(); err != nil {
		t.Fatal(err)
	}
	for i := range tasks {
		tasks[i].TaskDefinitionArn = tasks[i].Definition.TaskDefinitionArn
	}
	if !reflect.DeepEqual(r.Tasks, tasks) {
		t.Errorf("unpacked %+v, want %+v", r.Tasks, tasks)
	}
	r.Tasks[0].TaskDefinitionArn = "arn:td/gone:1"
	if err := r.Unpack(); err == nil {
		t.Error("a task naming a definition the answer lacks unpacked")
	}
}
