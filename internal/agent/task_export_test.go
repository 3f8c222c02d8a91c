package agent

import (
	"context"

	"github.com/gantry-dev/gantry/internal/agentproto"
	"github.com/gantry-dev/gantry/internal/runtime"
)

// The task runner, for the Docker tests in package agent_test (which use
// testenv, and testenv imports this package).
type (
	TaskConfig = taskConfig
	TaskRunner = taskRunner
)

const PauseContainerName = pauseContainerName

func StartTask(ctx context.Context, cfg TaskConfig, t agentproto.Task, adopted []runtime.Container) *TaskRunner {
	return startTask(ctx, cfg, t, adopted)
}
