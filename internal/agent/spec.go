package agent

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gantry-dev/gantry/internal/agentproto"
	"github.com/gantry-dev/gantry/internal/ecs"
	"github.com/gantry-dev/gantry/internal/runtime"
)

// Names of what the agent creates (labels: runtime's, and LabelInstance).
const (
	// pauseContainerName is the LabelContainerName of a task's pause
	// container. ECS container names are letters, digits, "-" and "_", so
	// it never names one of the task's own containers.
	pauseContainerName = "~pause"
)

// ECS's defaults for what a task definition leaves out.
const (
	defaultStopTimeout   = 30 * time.Second
	defaultHealthRetries = 3
	defaultHealthTimeout = 5 * time.Second
	defaultHealthEvery   = 30 * time.Second
	// minCPUShares is what ECS agents give Docker for a cpu of 0 or 1.
	minCPUShares = 2
)

// taskPlan is what one task (its definition and overrides) means on this
// host: its containers with their engine names and dependencies, its
// volumes, and the labels everything carries. It is fixed when the task
// is created and holds no observed state.
type taskPlan struct {
	arn, id, cluster string
	taskDef          string // the task definition ARN, or family:revision
	family           string
	revision         int32
	networkMode      ecs.NetworkMode // never empty: "bridge" by default
	pidMode          ecs.PidMode
	ipcMode          ecs.IpcMode
	// needsPause: the task's containers share namespaces held by a pause
	// container (awsvpc networking, or pidMode/ipcMode "task").
	needsPause bool
	// subnet is the first awsvpc subnet: an engine network of that name is
	// the task's network when it exists.
	subnet string

	containers []*containerPlan // in task definition order
	byName     map[string]*containerPlan
	volumes    map[string]volumePlan

	labels      map[string]string // on every container, beside the per-container ones
	volLabels   map[string]string // on task-scoped volumes
	extraLabels map[string]string // the agent's extra labels (taskConfig.Labels)
	memoryMiB   int64             // task-level memory, for containers that set none
	stopTimeout time.Duration     // for containers without their own stopTimeout
}

// containerPlan is one container of a task.
type containerPlan struct {
	def          ecs.ContainerDefinition // with the task's overrides applied
	name         string                  // the ECS container name
	engineName   string                  // the engine-level container name
	essential    bool
	deps         []dependency
	stopTimeout  time.Duration
	startTimeout time.Duration // how long dependents wait for this one; 0 = forever
	healthCheck  bool
}

// dependency is a condition on another container of the task that must
// hold before a container starts. Links and volumesFrom imply START.
type dependency struct {
	container string
	condition ecs.ContainerCondition
}

// volumePlan is how a task volume is mounted.
type volumePlan struct {
	typ        runtime.MountType
	source     string // host path, or the engine volume's name
	taskScoped bool   // an engine volume removed when the task is cleaned up
	driver     string
	driverOpts map[string]string
	labels     map[string]string
	err        error // the volume cannot be provided on this host
}

func newTaskPlan(cfg *taskConfig, t *agentproto.Task) *taskPlan {
	td := &t.Definition
	p := &taskPlan{
		arn:         t.TaskArn,
		id:          arnID(t.TaskArn),
		taskDef:     td.TaskDefinitionArn,
		family:      td.Family,
		revision:    td.Revision,
		networkMode: td.NetworkMode,
		pidMode:     td.PidMode,
		ipcMode:     td.IpcMode,
		byName:      make(map[string]*containerPlan),
		extraLabels: maps.Clone(cfg.Labels),
	}
	p.cluster, _ = ecs.ClusterName(t.ClusterArn)
	if p.networkMode == "" {
		p.networkMode = ecs.NetworkModeBridge
	}
	if p.taskDef == "" {
		p.taskDef = td.Family + ":" + strconv.Itoa(int(td.Revision))
	}
	p.needsPause = p.networkMode == ecs.NetworkModeAwsvpc || p.pidMode == ecs.PidModeTask || p.ipcMode == ecs.IpcModeTask
	if n := t.Network; n != nil && n.AwsvpcConfiguration != nil && len(n.AwsvpcConfiguration.Subnets) > 0 {
		p.subnet = n.AwsvpcConfiguration.Subnets[0]
	}
	p.labels = map[string]string{
		runtime.LabelCluster:        p.cluster,
		runtime.LabelTaskARN:        p.arn,
		runtime.LabelTaskDefinition: p.taskDef,
		LabelInstance:               cfg.InstanceID,
	}
	maps.Copy(p.labels, cfg.Labels)
	p.volLabels = map[string]string{runtime.LabelTaskARN: p.arn, LabelInstance: cfg.InstanceID}
	maps.Copy(p.volLabels, cfg.Labels)

	memory := td.Memory
	if t.Overrides.Memory != "" {
		memory = t.Overrides.Memory
	}
	if n, err := ecs.ParseTaskMemory(memory); memory != "" && err == nil {
		p.memoryMiB = int64(n)
	}
	p.stopTimeout = cfg.StopTimeout
	if t.StopTimeoutSeconds > 0 {
		p.stopTimeout = time.Duration(t.StopTimeoutSeconds) * time.Second
	}
	if p.stopTimeout <= 0 {
		p.stopTimeout = defaultStopTimeout
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	p.planVolumes(td.Volumes, log)
	for _, cd := range ecs.ContainerDefinitionsFor(td, &t.Overrides) {
		c := p.planContainer(cd)
		p.containers = append(p.containers, c)
		p.byName[c.name] = c
	}
	return p
}

func (p *taskPlan) planContainer(cd ecs.ContainerDefinition) *containerPlan {
	c := &containerPlan{
		def:         cd,
		name:        cd.Name,
		engineName:  p.engineName(cd.Name),
		essential:   cd.Essential == nil || *cd.Essential,
		stopTimeout: p.stopTimeout,
		healthCheck: cd.HealthCheck != nil && len(cd.HealthCheck.Command) > 0 && cd.HealthCheck.Command[0] != "NONE",
	}
	if cd.StopTimeout != nil && *cd.StopTimeout > 0 {
		c.stopTimeout = time.Duration(*cd.StopTimeout) * time.Second
	}
	if cd.StartTimeout != nil && *cd.StartTimeout > 0 {
		c.startTimeout = time.Duration(*cd.StartTimeout) * time.Second
	}
	seen := make(map[string]bool)
	add := func(name string, cond ecs.ContainerCondition) {
		if name != "" && name != cd.Name && !seen[name] {
			seen[name] = true
			c.deps = append(c.deps, dependency{container: name, condition: cond})
		}
	}
	for _, d := range cd.DependsOn {
		add(d.ContainerName, d.Condition)
	}
	if p.networkMode == ecs.NetworkModeBridge {
		for _, l := range cd.Links {
			name, _, _ := strings.Cut(l, ":")
			add(name, ecs.ContainerConditionSTART)
		}
	}
	for _, v := range cd.VolumesFrom {
		add(v.SourceContainer, ecs.ContainerConditionSTART)
	}
	return c
}

func (p *taskPlan) planVolumes(vols []ecs.Volume, log *slog.Logger) {
	p.volumes = make(map[string]volumePlan, len(vols))
	for _, v := range vols {
		vp := volumePlan{typ: runtime.MountVolume}
		taskScoped := func() {
			vp.source, vp.taskScoped, vp.labels = p.volumeName(v.Name), true, maps.Clone(p.volLabels)
		}
		switch {
		case v.Host != nil && v.Host.SourcePath != "":
			vp.typ, vp.source = runtime.MountBind, v.Host.SourcePath
		case v.DockerVolumeConfiguration != nil:
			d := v.DockerVolumeConfiguration
			if d.Scope == ecs.ScopeShared {
				vp.source = v.Name
				vp.labels = maps.Clone(p.extraLabels)
				if d.Autoprovision != nil && !*d.Autoprovision {
					log.Info("shared volume without autoprovision: the engine creates it if it is missing", "volume", v.Name)
				}
			} else {
				taskScoped()
			}
			vp.driver, vp.driverOpts = d.Driver, maps.Clone(d.DriverOpts)
			if len(d.Labels) > 0 {
				if vp.labels == nil {
					vp.labels = make(map[string]string)
				}
				for k, val := range d.Labels {
					if _, ours := vp.labels[k]; !ours {
						vp.labels[k] = val
					}
				}
			}
		case v.EfsVolumeConfiguration != nil:
			vp.err = fmt.Errorf("volume %q: EFS volumes are not supported on this host", v.Name)
		case v.FsxWindowsFileServerVolumeConfiguration != nil:
			vp.err = fmt.Errorf("volume %q: FSx for Windows File Server volumes are not supported on this host", v.Name)
		case v.S3filesVolumeConfiguration != nil:
			vp.err = fmt.Errorf("volume %q: S3 Files volumes are not supported on this host", v.Name)
		case v.ConfiguredAtLaunch != nil && *v.ConfiguredAtLaunch:
			vp.err = fmt.Errorf("volume %q: volumes configured at launch are not supported on this host", v.Name)
		default: // no host path, no configuration: an engine-managed scratch volume
			taskScoped()
		}
		p.volumes[v.Name] = vp
	}
}

// taskScopedVolumes lists the engine volumes the task's cleanup removes.
func (p *taskPlan) taskScopedVolumes() []string {
	var out []string
	for _, v := range p.volumes {
		if v.taskScoped && v.err == nil {
			out = append(out, v.source)
		}
	}
	slices.Sort(out)
	return out
}

// engineName is a container's engine-level name, unique per task and
// readable: ecs-<family>-<revision>-<container>-<short task id>.
func (p *taskPlan) engineName(container string) string {
	return p.nameParts(container, shortID(p.id))
}

// pauseName is the pause container's engine name. The short task ID comes
// before "pause", where a task container has its own name, so it cannot
// clash with one.
func (p *taskPlan) pauseName() string {
	return p.nameParts(shortID(p.id), "pause")
}

func (p *taskPlan) volumeName(volume string) string {
	return p.nameParts(volume, shortID(p.id))
}

func (p *taskPlan) nameParts(a, b string) string {
	family := p.family
	if family == "" {
		family = "task"
	}
	return engineSafe("ecs-" + family + "-" + strconv.Itoa(int(p.revision)) + "-" + a + "-" + b)
}

// attachmentID is the ID of the task's (simulated) elastic network
// interface attachment: a UUID derived from the task ARN, so it stays the
// same across agent restarts.
func (p *taskPlan) attachmentID() string {
	sum := sha256.Sum256([]byte("attachment:" + p.arn))
	h := hex.EncodeToString(sum[:16])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// arnID is the ID at the end of an ECS ARN (…:task/<cluster>/<id>,
// …:container-instance/<cluster>/<id>).
func arnID(arn string) string {
	if i := strings.LastIndexByte(arn, '/'); i >= 0 {
		return arn[i+1:]
	}
	return arn
}

func shortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

// engineSafe keeps the characters the engine allows in names and replaces
// the others with "-".
func engineSafe(s string) string {
	b := []byte(s)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-') {
			b[i] = '-'
		}
	}
	return string(b)
}

// specContext is what a container's spec needs beyond the plan: the pause
// container to join, if any, and where to log.
type specContext struct {
	pauseID string
	log     *slog.Logger
}

// containerSpec translates one container definition into what the runtime
// creates. Errors carry the ECS prefix the task's stoppedReason shows.
func (p *taskPlan) containerSpec(c *containerPlan, sc specContext) (runtime.ContainerSpec, error) {
	cd := &c.def
	spec := runtime.ContainerSpec{
		Name:                   c.engineName,
		Image:                  cd.Image,
		Labels:                 p.containerLabels(c),
		EntryPoint:             slices.Clone(cd.EntryPoint),
		Command:                slices.Clone(cd.Command),
		WorkingDir:             cd.WorkingDirectory,
		User:                   cd.User,
		CPUShares:              max(int64(cd.Cpu), minCPUShares),
		ReadonlyRootFilesystem: isTrue(cd.ReadonlyRootFilesystem),
		Privileged:             isTrue(cd.Privileged),
		SecurityOptions:        slices.Clone(cd.DockerSecurityOptions),
		Interactive:            isTrue(cd.Interactive),
		PseudoTerminal:         isTrue(cd.PseudoTerminal),
		HealthCheck:            healthCheck(cd.HealthCheck),
		StopTimeout:            c.stopTimeout,
		Log:                    logConfig(c, sc.log),
	}
	env, err := environment(cd, sc.log)
	if err != nil {
		return spec, err
	}
	spec.Env = env
	memory(&spec, cd, p.memoryMiB)
	for _, u := range cd.Ulimits {
		spec.Ulimits = append(spec.Ulimits, runtime.Ulimit{Name: string(u.Name), Soft: int64(u.SoftLimit), Hard: int64(u.HardLimit)})
	}
	linuxParameters(&spec, cd.LinuxParameters)
	if err := p.storage(&spec, cd); err != nil {
		return spec, fmt.Errorf("%w: %w", runtime.ErrCannotCreate, err)
	}
	if err := p.network(&spec, c, sc.pauseID); err != nil {
		return spec, fmt.Errorf("%w: %w", runtime.ErrCannotCreate, err)
	}
	if len(cd.Secrets) > 0 {
		sc.log.Warn("secrets are not supported yet; the container starts without them",
			"container", c.name, "secrets", len(cd.Secrets))
	}
	return spec, nil
}

// containerLabels: the definition's dockerLabels, then Gantry's, which win.
func (p *taskPlan) containerLabels(c *containerPlan) map[string]string {
	out := maps.Clone(c.def.DockerLabels)
	if out == nil {
		out = make(map[string]string, len(p.labels)+1)
	}
	maps.Copy(out, p.labels)
	out[runtime.LabelContainerName] = c.name
	return out
}

func memory(spec *runtime.ContainerSpec, cd *ecs.ContainerDefinition, taskMiB int64) {
	if cd.Memory != nil {
		spec.MemoryMiB = int64(*cd.Memory)
	}
	if cd.MemoryReservation != nil {
		spec.MemoryReservationMiB = int64(*cd.MemoryReservation)
	}
	if spec.MemoryMiB == 0 && spec.MemoryReservationMiB == 0 {
		spec.MemoryMiB = taskMiB
	}
}

func linuxParameters(spec *runtime.ContainerSpec, lp *ecs.LinuxParameters) {
	if lp == nil {
		return
	}
	if caps := lp.Capabilities; caps != nil {
		spec.CapAdd, spec.CapDrop = slices.Clone(caps.Add), slices.Clone(caps.Drop)
	}
	spec.Init = isTrue(lp.InitProcessEnabled)
	if lp.SharedMemorySize != nil {
		spec.SharedMemoryMiB = int64(*lp.SharedMemorySize)
	}
	for _, t := range lp.Tmpfs {
		spec.Tmpfs = append(spec.Tmpfs, runtime.Tmpfs{ContainerPath: t.ContainerPath, SizeMiB: int64(t.Size), Options: slices.Clone(t.MountOptions)})
	}
	for _, d := range lp.Devices {
		spec.Devices = append(spec.Devices, runtime.Device{HostPath: d.HostPath, ContainerPath: d.ContainerPath, Permissions: devicePermissions(d.Permissions)})
	}
	if lp.MaxSwap != nil {
		v := int64(*lp.MaxSwap)
		spec.MaxSwapMiB = &v
	}
	if lp.Swappiness != nil {
		v := int64(*lp.Swappiness)
		spec.Swappiness = &v
	}
}

// devicePermissions turns ECS's permission names into cgroup letters.
func devicePermissions(perms []ecs.DeviceCgroupPermission) string {
	var out strings.Builder
	for _, p := range []struct {
		name   ecs.DeviceCgroupPermission
		letter byte
	}{{"read", 'r'}, {"write", 'w'}, {"mknod", 'm'}} {
		if slices.Contains(perms, p.name) {
			out.WriteByte(p.letter)
		}
	}
	return out.String()
}

// storage mounts the task volumes the container names and the volumes of
// the containers it takes volumes from.
func (p *taskPlan) storage(spec *runtime.ContainerSpec, cd *ecs.ContainerDefinition) error {
	for _, mp := range cd.MountPoints {
		v, ok := p.volumes[mp.SourceVolume]
		if !ok {
			return fmt.Errorf("mount point %q names the volume %q, which the task definition does not define", mp.ContainerPath, mp.SourceVolume)
		}
		if v.err != nil {
			return v.err
		}
		spec.Mounts = append(spec.Mounts, runtime.Mount{
			Type: v.typ, Source: v.source, Target: mp.ContainerPath, ReadOnly: isTrue(mp.ReadOnly),
			VolumeDriver: v.driver, VolumeDriverOpts: maps.Clone(v.driverOpts), VolumeLabels: maps.Clone(v.labels),
		})
	}
	for _, vf := range cd.VolumesFrom {
		src, ok := p.byName[vf.SourceContainer]
		if !ok {
			return fmt.Errorf("volumesFrom names the container %q, which is not in the task", vf.SourceContainer)
		}
		spec.VolumesFrom = append(spec.VolumesFrom, runtime.VolumeFrom{Container: src.engineName, ReadOnly: isTrue(vf.ReadOnly)})
	}
	return nil
}

// network sets the container's network, pid and ipc modes. In awsvpc mode
// everything that configures the network namespace (hostname, DNS, hosts,
// ports, net.* sysctls) belongs to the pause container instead.
func (p *taskPlan) network(spec *runtime.ContainerSpec, c *containerPlan, pauseID string) error {
	cd := &c.def
	spec.Sysctls = sysctls(cd.SystemControls, p.networkMode != ecs.NetworkModeAwsvpc)
	if p.needsPause && pauseID == "" {
		return errors.New("the task's pause container is missing")
	}
	switch p.pidMode {
	case ecs.PidModeHost:
		spec.PidMode = "host"
	case ecs.PidModeTask:
		spec.PidMode = runtime.NetworkContainer(pauseID)
	}
	switch p.ipcMode {
	case ecs.IpcModeHost:
		spec.IpcMode = "host"
	case ecs.IpcModeNone:
		spec.IpcMode = "none"
	case ecs.IpcModeTask:
		spec.IpcMode = runtime.NetworkContainer(pauseID)
	}
	if p.networkMode == ecs.NetworkModeAwsvpc {
		spec.NetworkMode = runtime.NetworkContainer(pauseID)
		return nil
	}
	spec.Hostname = cd.Hostname
	spec.DNS = slices.Clone(cd.DnsServers)
	spec.DNSSearch = slices.Clone(cd.DnsSearchDomains)
	spec.ExtraHosts = hostEntries(cd.ExtraHosts)
	switch {
	case isTrue(cd.DisableNetworking) || p.networkMode == ecs.NetworkModeNone:
		spec.NetworkMode = runtime.NetworkNone
		return nil
	case p.networkMode == ecs.NetworkModeHost:
		spec.NetworkMode = runtime.NetworkHost
	default:
		spec.NetworkMode = runtime.NetworkBridge
		for _, l := range cd.Links {
			name, alias, ok := strings.Cut(l, ":")
			target, known := p.byName[name]
			if !known {
				return fmt.Errorf("link %q names the container %q, which is not in the task", l, name)
			}
			if !ok {
				alias = name
			}
			spec.Links = append(spec.Links, target.engineName+":"+alias)
		}
	}
	ports, err := portMappings(cd.PortMappings, p.networkMode == ecs.NetworkModeHost)
	spec.Ports = ports
	return err
}

// portMappings translates ECS port mappings, expanding port ranges. In
// host mode the host port is the container port; elsewhere an absent or
// zero host port asks for a dynamic one.
func portMappings(pms []ecs.PortMapping, hostMode bool) ([]runtime.PortMapping, error) {
	var out []runtime.PortMapping
	for _, pm := range pms {
		proto := runtime.Protocol(pm.Protocol)
		if proto == "" {
			proto = runtime.TCP
		}
		if pm.ContainerPortRange != "" && pm.ContainerPort == nil {
			lo, hi, err := portRange(pm.ContainerPortRange)
			if err != nil {
				return nil, err
			}
			for port := lo; port <= hi; port++ {
				out = append(out, runtime.PortMapping{ContainerPort: port, Protocol: proto})
			}
			continue
		}
		cp := int32Value(pm.ContainerPort)
		if cp <= 0 || cp > 65535 {
			return nil, fmt.Errorf("invalid container port %d", cp)
		}
		m := runtime.PortMapping{ContainerPort: uint16(cp), Protocol: proto}
		if hp := int32Value(pm.HostPort); hp > 0 && hp <= 65535 && !hostMode {
			m.HostPort = uint16(hp)
		}
		out = append(out, m)
	}
	return out, nil
}

func portRange(s string) (uint16, uint16, error) {
	a, b, _ := strings.Cut(s, "-")
	lo, err1 := strconv.ParseUint(strings.TrimSpace(a), 10, 16)
	hi, err2 := strconv.ParseUint(strings.TrimSpace(b), 10, 16)
	if err1 != nil || err2 != nil || lo == 0 || hi < lo {
		return 0, 0, fmt.Errorf("invalid container port range %q", s)
	}
	return uint16(lo), uint16(hi), nil
}

// sysctls maps systemControls; net.* ones only when the container has a
// network namespace of its own (withNet).
func sysctls(scs []ecs.SystemControl, withNet bool) map[string]string {
	var out map[string]string
	for _, s := range scs {
		if s.Namespace == "" || !withNet && strings.HasPrefix(s.Namespace, "net.") {
			continue
		}
		if out == nil {
			out = make(map[string]string)
		}
		out[s.Namespace] = s.Value
	}
	return out
}

func hostEntries(hs []ecs.HostEntry) []runtime.HostEntry {
	var out []runtime.HostEntry
	for _, h := range hs {
		out = append(out, runtime.HostEntry{Hostname: h.Hostname, IPAddress: h.IpAddress})
	}
	return out
}

// pauseSpec is the pause container that holds the task's namespaces: on
// the task network in awsvpc mode, with every container's hostname, DNS
// settings, extra hosts, published ports and net.* sysctls; without a
// network otherwise.
func (p *taskPlan) pauseSpec(image, network string) runtime.ContainerSpec {
	labels := maps.Clone(p.labels)
	labels[runtime.LabelContainerName] = pauseContainerName
	spec := runtime.ContainerSpec{
		Name:        p.pauseName(),
		Image:       image,
		Labels:      labels,
		NetworkMode: runtime.NetworkNone,
		StopTimeout: time.Second,
	}
	if p.ipcMode == ecs.IpcModeTask {
		spec.IpcMode = "shareable"
	}
	if p.networkMode != ecs.NetworkModeAwsvpc {
		return spec
	}
	spec.NetworkMode = network
	for _, c := range p.containers {
		cd := &c.def
		if spec.Hostname == "" {
			spec.Hostname = cd.Hostname
		}
		spec.DNS = appendNew(spec.DNS, cd.DnsServers...)
		spec.DNSSearch = appendNew(spec.DNSSearch, cd.DnsSearchDomains...)
		for _, h := range hostEntries(cd.ExtraHosts) {
			if !slices.Contains(spec.ExtraHosts, h) {
				spec.ExtraHosts = append(spec.ExtraHosts, h)
			}
		}
		// Published on dynamic host ports: the task's address is the way
		// in, these are a convenience where it cannot be reached (an
		// engine in a VM).
		ports, _ := portMappings(cd.PortMappings, false)
		for _, pm := range ports {
			pm.HostPort = 0
			if !slices.ContainsFunc(spec.Ports, func(o runtime.PortMapping) bool {
				return o.ContainerPort == pm.ContainerPort && o.Protocol == pm.Protocol
			}) {
				spec.Ports = append(spec.Ports, pm)
			}
		}
		for _, s := range cd.SystemControls {
			if strings.HasPrefix(s.Namespace, "net.") {
				if spec.Sysctls == nil {
					spec.Sysctls = make(map[string]string)
				}
				spec.Sysctls[s.Namespace] = s.Value
			}
		}
	}
	return spec
}

func appendNew(list []string, items ...string) []string {
	for _, s := range items {
		if !slices.Contains(list, s) {
			list = append(list, s)
		}
	}
	return list
}

func healthCheck(h *ecs.HealthCheck) *runtime.HealthCheck {
	if h == nil || len(h.Command) == 0 {
		return nil
	}
	hc := &runtime.HealthCheck{
		Command:     slices.Clone(h.Command),
		Interval:    seconds(h.Interval, defaultHealthEvery),
		Timeout:     seconds(h.Timeout, defaultHealthTimeout),
		Retries:     int(int32Value(h.Retries)),
		StartPeriod: seconds(h.StartPeriod, 0),
	}
	if hc.Retries <= 0 {
		hc.Retries = defaultHealthRetries
	}
	return hc
}

// logConfig always selects the engine's json-file driver for now, so the
// agent can read logs back; other drivers are accepted and noted.
func logConfig(c *containerPlan, log *slog.Logger) runtime.LogConfig {
	lc := runtime.LogConfig{Driver: string(ecs.LogDriverJsonFile)}
	if l := c.def.LogConfiguration; l != nil {
		if l.LogDriver == ecs.LogDriverJsonFile {
			lc.Options = maps.Clone(l.Options)
		} else {
			log.Info("log driver not supported yet; logging with json-file", "container", c.name, "logDriver", l.LogDriver)
		}
	}
	return lc
}

// environment merges the container's environment files, in order, then its
// environment, which wins. Only local files are read: an absolute path or
// a file:// URL. Others (S3 ARNs) are skipped with a log line.
func environment(cd *ecs.ContainerDefinition, log *slog.Logger) (map[string]string, error) {
	env := make(map[string]string)
	for _, f := range cd.EnvironmentFiles {
		path, local := strings.CutPrefix(f.Value, "file://")
		if !local && !strings.HasPrefix(path, "/") {
			log.Info("environment file is not a local path; skipped", "container", cd.Name, "value", f.Value)
			continue
		}
		if err := readEnvFile(path, env); err != nil {
			return nil, fmt.Errorf("ResourceInitializationError: unable to read environment file %s: %w", f.Value, err)
		}
	}
	for _, kv := range cd.Environment {
		if kv.Name != "" {
			env[kv.Name] = kv.Value
		}
	}
	if len(env) == 0 {
		return nil, nil
	}
	return env, nil
}

// readEnvFile reads VARIABLE=VALUE lines into env; blank lines, lines
// starting with "#" and lines without "=" are skipped. Values are taken as
// they are, without quote or escape processing.
func readEnvFile(path string, env map[string]string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	s.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for s.Scan() {
		line := strings.TrimSuffix(s.Text(), "\r")
		if strings.TrimSpace(line) == "" || strings.HasPrefix(strings.TrimSpace(line), "#") {
			continue
		}
		name, value, ok := strings.Cut(line, "=")
		name = strings.TrimSpace(name)
		if !ok || name == "" {
			continue
		}
		env[name] = value
	}
	return s.Err()
}

func seconds(p *int32, def time.Duration) time.Duration {
	if p == nil || *p <= 0 {
		return def
	}
	return time.Duration(*p) * time.Second
}

func int32Value(p *int32) int32 {
	if p == nil {
		return 0
	}
	return *p
}

func isTrue(p *bool) bool { return p != nil && *p }
