package agent

import (
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gantry-dev/gantry/internal/agentproto"
	"github.com/gantry-dev/gantry/internal/ecs"
	"github.com/gantry-dev/gantry/internal/runtime"
)

const specTaskID = "0123456789abcdef0123456789abcdef"

var specConfig = taskConfig{
	InstanceID:  "i-1",
	Labels:      map[string]string{"gantry.test": "spec"},
	StopTimeout: 30 * time.Second,
}

func specTask(mode ecs.NetworkMode, cds ...ecs.ContainerDefinition) agentproto.Task {
	return agentproto.Task{
		TaskArn:    "arn:aws:ecs:us-east-1:123456789012:task/prod/" + specTaskID,
		ClusterArn: "arn:aws:ecs:us-east-1:123456789012:cluster/prod",
		Definition: ecs.TaskDefinition{
			TaskDefinitionArn: "arn:aws:ecs:us-east-1:123456789012:task-definition/shop:7",
			Family:            "shop", Revision: 7, NetworkMode: mode, ContainerDefinitions: cds,
		},
	}
}

// specLabels are the labels every container of specTask carries.
func specLabels(container string) map[string]string {
	return map[string]string{
		runtime.LabelCluster:        "prod",
		runtime.LabelTaskARN:        "arn:aws:ecs:us-east-1:123456789012:task/prod/" + specTaskID,
		runtime.LabelTaskDefinition: "arn:aws:ecs:us-east-1:123456789012:task-definition/shop:7",
		runtime.LabelContainerName:  container,
		LabelInstance:               "i-1",
		"gantry.test":               "spec",
	}
}

// baseSpec is what a bare container named app translates to.
func baseSpec() runtime.ContainerSpec {
	return runtime.ContainerSpec{
		Name:        "ecs-shop-7-app-0123456789ab",
		Image:       "img:1",
		Labels:      specLabels("app"),
		CPUShares:   2,
		NetworkMode: "bridge",
		StopTimeout: 30 * time.Second,
		Log:         runtime.LogConfig{Driver: "json-file"},
	}
}

func app(f func(cd *ecs.ContainerDefinition)) ecs.ContainerDefinition {
	cd := ecs.ContainerDefinition{Name: "app", Image: "img:1"}
	if f != nil {
		f(&cd)
	}
	return cd
}

func TestContainerSpec(t *testing.T) {
	dir := t.TempDir()
	first := filepath.Join(dir, "first.env")
	second := filepath.Join(dir, "second.env")
	writeFile(t, first, "# comment\nA=from-first\nB=from-first\n\nNOEQUALS\nQUOTED=\"kept as is\"\r\n")
	writeFile(t, second, "B=from-second\nC=from-second\n")

	tests := []struct {
		name   string
		task   agentproto.Task
		edit   func(*agentproto.Task)
		want   func(*runtime.ContainerSpec)
		errHas string
	}{
		{name: "bare container", task: specTask("", app(nil)), want: func(*runtime.ContainerSpec) {}},
		{
			name: "process and resources",
			task: specTask(ecs.NetworkModeBridge, app(func(cd *ecs.ContainerDefinition) {
				cd.EntryPoint = []string{"/bin/sh", "-c"}
				cd.Command = []string{"exec server"}
				cd.Environment = []ecs.KeyValuePair{{Name: "MODE", Value: "prod"}, {Name: "EMPTY"}}
				cd.WorkingDirectory = "/srv"
				cd.User = "1000:1000"
				cd.DockerLabels = map[string]string{"team": "shop", runtime.LabelTaskARN: "forged"}
				cd.Cpu = 256
				cd.Memory = ptr(int32(512))
				cd.MemoryReservation = ptr(int32(256))
				cd.Ulimits = []ecs.Ulimit{{Name: "nofile", SoftLimit: 1024, HardLimit: 4096}}
				cd.ReadonlyRootFilesystem = ptr(true)
				cd.Privileged = ptr(true)
				cd.DockerSecurityOptions = []string{"no-new-privileges"}
				cd.Interactive, cd.PseudoTerminal = ptr(true), ptr(true)
				cd.StopTimeout = ptr(int32(5))
				cd.SystemControls = []ecs.SystemControl{{Namespace: "net.core.somaxconn", Value: "1024"}, {Namespace: "kernel.msgmax", Value: "65536"}}
				cd.LinuxParameters = &ecs.LinuxParameters{
					Capabilities:       &ecs.KernelCapabilities{Add: []string{"NET_ADMIN"}, Drop: []string{"MKNOD"}},
					InitProcessEnabled: ptr(true),
					SharedMemorySize:   ptr(int32(64)),
					Tmpfs:              []ecs.Tmpfs{{ContainerPath: "/run", Size: 16, MountOptions: []string{"noexec"}}},
					Devices:            []ecs.Device{{HostPath: "/dev/fuse", Permissions: []ecs.DeviceCgroupPermission{"mknod", "read"}}},
					MaxSwap:            ptr(int32(0)),
					Swappiness:         ptr(int32(10)),
				}
				cd.HealthCheck = &ecs.HealthCheck{Command: []string{"CMD-SHELL", "curl -f localhost"}, Interval: ptr(int32(10)),
					Timeout: ptr(int32(3)), Retries: ptr(int32(5)), StartPeriod: ptr(int32(20))}
				cd.LogConfiguration = &ecs.LogConfiguration{LogDriver: "json-file", Options: map[string]string{"max-size": "10m"}}
			})),
			want: func(s *runtime.ContainerSpec) {
				s.EntryPoint, s.Command = []string{"/bin/sh", "-c"}, []string{"exec server"}
				s.Env = map[string]string{"MODE": "prod", "EMPTY": ""}
				s.WorkingDir, s.User = "/srv", "1000:1000"
				s.Labels["team"] = "shop"
				s.CPUShares, s.MemoryMiB, s.MemoryReservationMiB = 256, 512, 256
				s.Ulimits = []runtime.Ulimit{{Name: "nofile", Soft: 1024, Hard: 4096}}
				s.ReadonlyRootFilesystem, s.Privileged, s.Init = true, true, true
				s.SecurityOptions = []string{"no-new-privileges"}
				s.Interactive, s.PseudoTerminal = true, true
				s.StopTimeout = 5 * time.Second
				s.Sysctls = map[string]string{"net.core.somaxconn": "1024", "kernel.msgmax": "65536"}
				s.CapAdd, s.CapDrop = []string{"NET_ADMIN"}, []string{"MKNOD"}
				s.SharedMemoryMiB = 64
				s.Tmpfs = []runtime.Tmpfs{{ContainerPath: "/run", SizeMiB: 16, Options: []string{"noexec"}}}
				s.Devices = []runtime.Device{{HostPath: "/dev/fuse", Permissions: "rm"}}
				s.MaxSwapMiB, s.Swappiness = ptr(int64(0)), ptr(int64(10))
				s.HealthCheck = &runtime.HealthCheck{Command: []string{"CMD-SHELL", "curl -f localhost"}, Interval: 10 * time.Second,
					Timeout: 3 * time.Second, Retries: 5, StartPeriod: 20 * time.Second}
				s.Log.Options = map[string]string{"max-size": "10m"}
			},
		},
		{
			name: "bridge networking",
			task: specTask(ecs.NetworkModeBridge, app(func(cd *ecs.ContainerDefinition) {
				cd.Hostname = "app.local"
				cd.DnsServers, cd.DnsSearchDomains = []string{"10.0.0.2"}, []string{"corp.example"}
				cd.ExtraHosts = []ecs.HostEntry{{Hostname: "db", IpAddress: "10.0.0.9"}}
				cd.Links = []string{"db", "cache:redis"}
				cd.PortMappings = []ecs.PortMapping{
					{ContainerPort: ptr(int32(80)), HostPort: ptr(int32(8080))},
					{ContainerPort: ptr(int32(443))},
					{ContainerPort: ptr(int32(53)), HostPort: ptr(int32(0)), Protocol: "udp"},
					{ContainerPortRange: "9000-9002"},
				}
			}), ecs.ContainerDefinition{Name: "db", Image: "db:1"}, ecs.ContainerDefinition{Name: "cache", Image: "cache:1"}),
			want: func(s *runtime.ContainerSpec) {
				s.Hostname = "app.local"
				s.DNS, s.DNSSearch = []string{"10.0.0.2"}, []string{"corp.example"}
				s.ExtraHosts = []runtime.HostEntry{{Hostname: "db", IPAddress: "10.0.0.9"}}
				s.Links = []string{"ecs-shop-7-db-0123456789ab:db", "ecs-shop-7-cache-0123456789ab:redis"}
				s.Ports = []runtime.PortMapping{
					{ContainerPort: 80, HostPort: 8080, Protocol: "tcp"}, {ContainerPort: 443, Protocol: "tcp"},
					{ContainerPort: 53, Protocol: "udp"}, {ContainerPort: 9000, Protocol: "tcp"},
					{ContainerPort: 9001, Protocol: "tcp"}, {ContainerPort: 9002, Protocol: "tcp"},
				}
			},
		},
		{
			name: "host networking",
			task: specTask(ecs.NetworkModeHost, app(func(cd *ecs.ContainerDefinition) {
				cd.PortMappings = []ecs.PortMapping{{ContainerPort: ptr(int32(80)), HostPort: ptr(int32(80))}}
			})),
			want: func(s *runtime.ContainerSpec) {
				s.NetworkMode = "host"
				s.Ports = []runtime.PortMapping{{ContainerPort: 80, Protocol: "tcp"}}
			},
		},
		{name: "no networking", task: specTask(ecs.NetworkModeNone, app(nil)), want: func(s *runtime.ContainerSpec) { s.NetworkMode = "none" }},
		{
			name: "networking disabled",
			task: specTask("", app(func(cd *ecs.ContainerDefinition) {
				cd.DisableNetworking = ptr(true)
				cd.PortMappings = []ecs.PortMapping{{ContainerPort: ptr(int32(80))}}
			})),
			want: func(s *runtime.ContainerSpec) { s.NetworkMode = "none" },
		},
		{
			name: "awsvpc joins the pause container",
			task: specTask(ecs.NetworkModeAwsvpc, app(func(cd *ecs.ContainerDefinition) {
				cd.Hostname = "ignored-here"
				cd.DnsServers = []string{"10.0.0.2"}
				cd.PortMappings = []ecs.PortMapping{{ContainerPort: ptr(int32(80))}}
				cd.SystemControls = []ecs.SystemControl{{Namespace: "net.core.somaxconn", Value: "1024"}, {Namespace: "kernel.shmmax", Value: "1"}}
			})),
			edit: func(t *agentproto.Task) { t.Definition.PidMode, t.Definition.IpcMode = "task", "task" },
			want: func(s *runtime.ContainerSpec) {
				s.NetworkMode, s.PidMode, s.IpcMode = "container:pause0", "container:pause0", "container:pause0"
				s.Sysctls = map[string]string{"kernel.shmmax": "1"}
			},
		},
		{
			name: "host pid and ipc",
			task: specTask("", app(nil)),
			edit: func(t *agentproto.Task) { t.Definition.PidMode, t.Definition.IpcMode = "host", "host" },
			want: func(s *runtime.ContainerSpec) { s.PidMode, s.IpcMode = "host", "host" },
		},
		{
			name: "task memory and overrides",
			task: specTask("", app(func(cd *ecs.ContainerDefinition) {
				cd.Command = []string{"serve"}
				cd.Environment = []ecs.KeyValuePair{{Name: "A", Value: "1"}, {Name: "B", Value: "2"}}
			})),
			edit: func(t *agentproto.Task) {
				t.Definition.Memory = "1GB"
				t.Overrides = ecs.TaskOverride{Memory: "2048", ContainerOverrides: []ecs.ContainerOverride{{
					Name: "app", Command: []string{"migrate"}, Environment: []ecs.KeyValuePair{{Name: "B", Value: "3"}}, Cpu: ptr(int32(512)),
				}}}
				t.StopTimeoutSeconds = 90
			},
			want: func(s *runtime.ContainerSpec) {
				s.Command = []string{"migrate"}
				s.Env = map[string]string{"A": "1", "B": "3"}
				s.MemoryMiB, s.CPUShares = 2048, 512
				s.StopTimeout = 90 * time.Second
			},
		},
		{
			name: "environment files",
			task: specTask("", app(func(cd *ecs.ContainerDefinition) {
				cd.EnvironmentFiles = []ecs.EnvironmentFile{
					{Value: "file://" + first, Type: "s3"},
					{Value: "arn:aws:s3:::bucket/app.env", Type: "s3"},
					{Value: second, Type: "s3"},
				}
				cd.Environment = []ecs.KeyValuePair{{Name: "C", Value: "from-environment"}}
			})),
			want: func(s *runtime.ContainerSpec) {
				s.Env = map[string]string{"A": "from-first", "B": "from-second", "C": "from-environment", "QUOTED": `"kept as is"`}
			},
		},
		{
			name: "missing environment file",
			task: specTask("", app(func(cd *ecs.ContainerDefinition) {
				cd.EnvironmentFiles = []ecs.EnvironmentFile{{Value: filepath.Join(dir, "absent.env"), Type: "s3"}}
			})),
			errHas: "ResourceInitializationError: unable to read environment file",
		},
		{
			name: "volumes",
			task: specTask("", app(func(cd *ecs.ContainerDefinition) {
				cd.MountPoints = []ecs.MountPoint{
					{SourceVolume: "host", ContainerPath: "/host", ReadOnly: ptr(true)},
					{SourceVolume: "scratch", ContainerPath: "/scratch"},
					{SourceVolume: "emptyhost", ContainerPath: "/empty"},
					{SourceVolume: "cache", ContainerPath: "/cache"},
					{SourceVolume: "shared", ContainerPath: "/shared"},
				}
				cd.VolumesFrom = []ecs.VolumeFrom{{SourceContainer: "data", ReadOnly: ptr(true)}}
			}), ecs.ContainerDefinition{Name: "data", Image: "data:1"}),
			edit: func(t *agentproto.Task) {
				t.Definition.Volumes = []ecs.Volume{
					{Name: "host", Host: &ecs.HostVolumeProperties{SourcePath: "/var/data"}},
					{Name: "scratch"},
					{Name: "emptyhost", Host: &ecs.HostVolumeProperties{}},
					{Name: "cache", DockerVolumeConfiguration: &ecs.DockerVolumeConfiguration{Scope: "task", Driver: "local",
						DriverOpts: map[string]string{"type": "tmpfs"}, Labels: map[string]string{"kind": "cache", runtime.LabelTaskARN: "forged"}}},
					{Name: "shared", DockerVolumeConfiguration: &ecs.DockerVolumeConfiguration{Scope: "shared", Autoprovision: ptr(true)}},
				}
			},
			want: func(s *runtime.ContainerSpec) {
				taskVol := map[string]string{runtime.LabelTaskARN: specLabels("")[runtime.LabelTaskARN], LabelInstance: "i-1", "gantry.test": "spec"}
				cacheLabels := map[string]string{"kind": "cache"}
				for k, v := range taskVol {
					cacheLabels[k] = v
				}
				s.Mounts = []runtime.Mount{
					{Type: "bind", Source: "/var/data", Target: "/host", ReadOnly: true},
					{Type: "volume", Source: "ecs-shop-7-scratch-0123456789ab", Target: "/scratch", VolumeLabels: taskVol},
					{Type: "volume", Source: "ecs-shop-7-emptyhost-0123456789ab", Target: "/empty", VolumeLabels: taskVol},
					{Type: "volume", Source: "ecs-shop-7-cache-0123456789ab", Target: "/cache", VolumeDriver: "local",
						VolumeDriverOpts: map[string]string{"type": "tmpfs"}, VolumeLabels: cacheLabels},
					{Type: "volume", Source: "shared", Target: "/shared", VolumeLabels: map[string]string{"gantry.test": "spec"}},
				}
				s.VolumesFrom = []runtime.VolumeFrom{{Container: "ecs-shop-7-data-0123456789ab", ReadOnly: true}}
			},
		},
		{
			name: "EFS volume",
			task: specTask("", app(func(cd *ecs.ContainerDefinition) {
				cd.MountPoints = []ecs.MountPoint{{SourceVolume: "efs", ContainerPath: "/efs"}}
			})),
			edit: func(t *agentproto.Task) {
				t.Definition.Volumes = []ecs.Volume{{Name: "efs", EfsVolumeConfiguration: &ecs.EFSVolumeConfiguration{FileSystemId: "fs-1"}}}
			},
			errHas: `CannotCreateContainerError: volume "efs": EFS volumes are not supported`,
		},
		{
			name: "undefined volume",
			task: specTask("", app(func(cd *ecs.ContainerDefinition) {
				cd.MountPoints = []ecs.MountPoint{{SourceVolume: "nope", ContainerPath: "/x"}}
			})),
			errHas: `CannotCreateContainerError: mount point "/x" names the volume "nope"`,
		},
		{
			name: "health check defaults",
			task: specTask("", app(func(cd *ecs.ContainerDefinition) {
				cd.HealthCheck = &ecs.HealthCheck{Command: []string{"CMD", "/app", "check"}}
			})),
			want: func(s *runtime.ContainerSpec) {
				s.HealthCheck = &runtime.HealthCheck{Command: []string{"CMD", "/app", "check"}, Interval: 30 * time.Second, Timeout: 5 * time.Second, Retries: 3}
			},
		},
		{
			name: "other log drivers log to json-file",
			task: specTask("", app(func(cd *ecs.ContainerDefinition) {
				cd.LogConfiguration = &ecs.LogConfiguration{LogDriver: "awslogs", Options: map[string]string{"awslogs-group": "g"}}
			})),
			want: func(*runtime.ContainerSpec) {},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			task := tt.task
			if tt.edit != nil {
				tt.edit(&task)
			}
			plan := newTaskPlan(&specConfig, &task)
			got, err := plan.containerSpec(plan.byName["app"], specContext{pauseID: "pause0", log: slog.New(slog.NewTextHandler(io.Discard, nil))})
			if tt.errHas != "" {
				if err == nil || !strings.Contains(err.Error(), tt.errHas) {
					t.Fatalf("error %v, want one containing %q", err, tt.errHas)
				}
				if strings.HasPrefix(tt.errHas, "CannotCreate") && !errors.Is(err, runtime.ErrCannotCreate) {
					t.Errorf("error %v does not wrap ErrCannotCreate", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := baseSpec()
			tt.want(&want)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("spec (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPauseSpec(t *testing.T) {
	task := specTask(ecs.NetworkModeAwsvpc,
		app(func(cd *ecs.ContainerDefinition) {
			cd.Hostname = "shop"
			cd.DnsServers = []string{"10.0.0.2"}
			cd.ExtraHosts = []ecs.HostEntry{{Hostname: "db", IpAddress: "10.0.0.9"}}
			cd.PortMappings = []ecs.PortMapping{{ContainerPort: ptr(int32(80)), HostPort: ptr(int32(80))}}
			cd.SystemControls = []ecs.SystemControl{{Namespace: "net.ipv4.tcp_keepalive_time", Value: "60"}, {Namespace: "kernel.shmmax", Value: "1"}}
		}),
		ecs.ContainerDefinition{Name: "side", Image: "side:1", Hostname: "other", DnsServers: []string{"10.0.0.2", "10.0.0.3"},
			DnsSearchDomains: []string{"corp"}, ExtraHosts: []ecs.HostEntry{{Hostname: "db", IpAddress: "10.0.0.9"}},
			PortMappings: []ecs.PortMapping{{ContainerPort: ptr(int32(9090)), Protocol: "udp"}}},
	)
	task.Definition.IpcMode = "task"
	plan := newTaskPlan(&specConfig, &task)
	if !plan.needsPause {
		t.Fatal("an awsvpc task needs no pause container")
	}
	got := plan.pauseSpec("pause:1", "gantry-task")
	want := runtime.ContainerSpec{
		Name:        "ecs-shop-7-0123456789ab-pause",
		Image:       "pause:1",
		Labels:      specLabels(pauseContainerName),
		NetworkMode: "gantry-task",
		IpcMode:     "shareable",
		StopTimeout: time.Second,
		Hostname:    "shop",
		DNS:         []string{"10.0.0.2", "10.0.0.3"},
		DNSSearch:   []string{"corp"},
		ExtraHosts:  []runtime.HostEntry{{Hostname: "db", IPAddress: "10.0.0.9"}},
		Ports:       []runtime.PortMapping{{ContainerPort: 80, Protocol: "tcp"}, {ContainerPort: 9090, Protocol: "udp"}},
		Sysctls:     map[string]string{"net.ipv4.tcp_keepalive_time": "60"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("pause spec (-want +got):\n%s", diff)
	}

	bridge := specTask(ecs.NetworkModeBridge, app(nil))
	bridge.Definition.PidMode = "task"
	plan = newTaskPlan(&specConfig, &bridge)
	if p := plan.pauseSpec("pause:1", "ignored"); !plan.needsPause || p.NetworkMode != runtime.NetworkNone || p.Hostname != "" {
		t.Errorf("pause of a bridge task with pidMode task: %+v", p)
	}
	if plan := newTaskPlan(&specConfig, ptr(specTask(ecs.NetworkModeBridge, app(nil)))); plan.needsPause {
		t.Error("a plain bridge task needs a pause container")
	}
}

func TestPlanNames(t *testing.T) {
	task := specTask("", app(nil), ecs.ContainerDefinition{Name: "side_car-2"})
	task.Definition.Family = "my.fam-ily_1"
	plan := newTaskPlan(&specConfig, &task)
	valid := regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]+$`)
	for _, name := range []string{plan.byName["app"].engineName, plan.byName["side_car-2"].engineName, plan.pauseName(), plan.volumeName("v")} {
		if !valid.MatchString(name) {
			t.Errorf("engine name %q is not valid", name)
		}
	}
	if got := plan.byName["side_car-2"].engineName; got != "ecs-my.fam-ily_1-7-side_car-2-0123456789ab" {
		t.Errorf("engine name %q", got)
	}
	if id := plan.attachmentID(); !regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`).MatchString(id) ||
		id != newTaskPlan(&specConfig, &task).attachmentID() {
		t.Errorf("attachment ID %q", id)
	}
	if got := engineSafe("ecs-a b/c:d"); got != "ecs-a-b-c-d" {
		t.Errorf("engineSafe = %q", got)
	}
}

func TestPlanDependencies(t *testing.T) {
	task := specTask(ecs.NetworkModeBridge,
		app(func(cd *ecs.ContainerDefinition) {
			cd.Links = []string{"db:database"}
			cd.VolumesFrom = []ecs.VolumeFrom{{SourceContainer: "data"}}
			cd.DependsOn = []ecs.ContainerDependency{{ContainerName: "db", Condition: "HEALTHY"}, {ContainerName: "init", Condition: "SUCCESS"}}
			cd.StopTimeout = ptr(int32(3))
		}),
		ecs.ContainerDefinition{Name: "db", StartTimeout: ptr(int32(40))},
		ecs.ContainerDefinition{Name: "data"},
		ecs.ContainerDefinition{Name: "init", Essential: ptr(false)},
	)
	plan := newTaskPlan(&specConfig, &task)
	a := plan.byName["app"]
	want := []dependency{{"db", "HEALTHY"}, {"init", "SUCCESS"}, {"data", "START"}}
	if diff := cmp.Diff(want, a.deps, cmp.AllowUnexported(dependency{})); diff != "" {
		t.Errorf("deps (-want +got):\n%s", diff)
	}
	if a.stopTimeout != 3*time.Second || plan.byName["db"].startTimeout != 40*time.Second || plan.byName["init"].essential || !a.essential {
		t.Errorf("plan: %+v", a)
	}
	r := &taskRunner{plan: plan, byName: map[string]*taskContainer{}}
	for _, cp := range plan.containers {
		c := &taskContainer{plan: cp}
		r.containers = append(r.containers, c)
		r.byName[cp.name] = c
	}
	var order []string
	for _, c := range r.dependencyOrder() {
		order = append(order, c.plan.name)
	}
	if diff := cmp.Diff([]string{"db", "init", "data", "app"}, order); diff != "" {
		t.Errorf("create order (-want +got):\n%s", diff)
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
