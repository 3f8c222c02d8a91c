package ecs

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

func containerField(i int) string { return fmt.Sprintf("containerDefinitions[%d]", i) }

func essential(cd *ContainerDefinition) bool { return cd.Essential == nil || *cd.Essential }

// containers applies the per-container rules and the one rule about the set:
// a task needs at least one essential container.
func (c *checker) containers() *Error {
	hostPorts := make(map[string]bool)
	anyEssential := false
	for i := range c.td.ContainerDefinitions {
		cd := &c.td.ContainerDefinitions[i]
		anyEssential = anyEssential || essential(cd)
		checks := []func(int, *ContainerDefinition) *Error{
			c.containerMemory, c.containerSettings, c.containerNetwork,
			c.containerStorage, c.containerHealth, c.containerLogging,
		}
		for _, check := range checks {
			if err := check(i, cd); err != nil {
				return err
			}
		}
		if err := c.portMappings(i, cd, hostPorts); err != nil {
			return err
		}
	}
	if !anyEssential {
		return ClientError("Task definition doesn't have any essential container.")
	}
	return nil
}

// containerSettings checks the smaller enumerated and numeric settings.
func (c *checker) containerSettings(i int, cd *ContainerDefinition) *Error {
	f := containerField(i)
	errs := []*Error{checkEnum(f+".versionConsistency", cd.VersionConsistency, VersionConsistency("").Values())}
	for j, u := range cd.Ulimits {
		uf := fmt.Sprintf("%s.ulimits[%d]", f, j)
		errs = append(errs, checkEnum(uf+".name", u.Name, UlimitName("").Values()))
		if u.Name == "" {
			errs = append(errs, ClientError("%s.name should not be null or empty.", uf))
		} else if u.SoftLimit > u.HardLimit {
			errs = append(errs, ClientError("%s.softLimit must not be greater than hardLimit.", uf))
		}
	}
	for j, ef := range cd.EnvironmentFiles {
		errs = append(errs, checkEnum(fmt.Sprintf("%s.environmentFiles[%d].type", f, j), ef.Type, EnvironmentFileType("").Values()))
	}
	for j, rr := range cd.ResourceRequirements {
		errs = append(errs, checkEnum(fmt.Sprintf("%s.resourceRequirements[%d].type", f, j), rr.Type, ResourceType("").Values()))
	}
	if fc := cd.FirelensConfiguration; fc != nil {
		errs = append(errs, checkEnum(f+".firelensConfiguration.type", fc.Type, FirelensConfigurationType("").Values()))
	}
	if lp := cd.LinuxParameters; lp != nil {
		for j, d := range lp.Devices {
			for k, p := range d.Permissions {
				errs = append(errs, checkEnum(fmt.Sprintf("%s.linuxParameters.devices[%d].permissions[%d]", f, j, k), p, DeviceCgroupPermission("").Values()))
			}
		}
	}
	if t := cd.StartTimeout; t != nil && *t < 0 {
		errs = append(errs, ClientError("%s.startTimeout must not be negative.", f))
	}
	if t := cd.StopTimeout; t != nil && *t < 0 {
		errs = append(errs, ClientError("%s.stopTimeout must not be negative.", f))
	}
	errs = append(errs, restartPolicy(f, cd.RestartPolicy))
	return firstError(errs)
}

// restartPolicy applies the limits the API reference gives for
// ContainerRestartPolicy: 60-1800 s between restarts, at most 50 exit codes.
func restartPolicy(f string, rp *ContainerRestartPolicy) *Error {
	if rp == nil {
		return nil
	}
	if rp.Enabled == nil {
		return ClientError("%s.restartPolicy.enabled should not be null.", f)
	}
	if len(rp.IgnoredExitCodes) > 50 {
		return ClientError("%s.restartPolicy.ignoredExitCodes can list at most 50 exit codes.", f)
	}
	return timeoutRange(f+".restartPolicy.restartAttemptPeriod", rp.RestartAttemptPeriod, 60, 1800)
}

// containerNetwork checks the settings that depend on the network mode.
func (c *checker) containerNetwork(i int, cd *ContainerDefinition) *Error {
	if len(cd.Links) > 0 && c.mode != NetworkModeBridge {
		return ClientError("Links are not supported when networkMode=%s.", c.mode)
	}
	for _, link := range cd.Links {
		target, _, _ := strings.Cut(link, ":")
		if _, ok := c.names[target]; !ok {
			return ClientError("Invalid 'links' setting. Unknown container: '%s'.", target)
		}
	}
	if c.mode == NetworkModeAwsvpc {
		if cd.Hostname != "" {
			return ClientError("hostname is not supported on container when networkMode=awsvpc.")
		}
		if len(cd.ExtraHosts) > 0 {
			return ClientError("extraHosts is not supported on container when networkMode=awsvpc.")
		}
	}
	return nil
}

// containerStorage checks that mount points and volumesFrom name volumes and
// containers the task definition declares.
func (c *checker) containerStorage(i int, cd *ContainerDefinition) *Error {
	f := containerField(i)
	declared := func(name string) bool {
		return slices.ContainsFunc(c.td.Volumes, func(v Volume) bool { return v.Name == name })
	}
	for j, mp := range cd.MountPoints {
		if !declared(mp.SourceVolume) {
			name := mp.SourceVolume
			if name == "" {
				name = "null" // what ECS prints for a missing sourceVolume
			}
			return ClientError("Unknown volume '%s'.", name)
		}
		if mp.ContainerPath == "" {
			return ClientError("%s.mountPoints[%d].containerPath should not be null or empty.", f, j)
		}
	}
	for _, vf := range cd.VolumesFrom {
		if _, ok := c.names[vf.SourceContainer]; !ok {
			return ClientError("Invalid 'volumesFrom' setting. Unknown container: '%s'.", vf.SourceContainer)
		}
	}
	return nil
}

// healthCheckFields are the health check timings with the ranges the API
// reference gives and the defaults DescribeTaskDefinition shows when they
// were omitted (startPeriod has none: it stays off).
func healthCheckFields(h *HealthCheck) []struct {
	name        string
	v           **int32
	lo, hi, def int32
} {
	return []struct {
		name        string
		v           **int32
		lo, hi, def int32
	}{
		{"interval", &h.Interval, 5, 300, 30},
		{"timeout", &h.Timeout, 2, 60, 5},
		{"retries", &h.Retries, 1, 10, 3},
		{"startPeriod", &h.StartPeriod, 0, 300, 0},
	}
}

func (c *checker) containerHealth(i int, cd *ContainerDefinition) *Error {
	h := cd.HealthCheck
	if h == nil {
		return nil
	}
	f := containerField(i) + ".healthCheck"
	if len(h.Command) == 0 {
		return ClientError("%s.command should not be null or empty.", f)
	}
	if !slices.Contains([]string{"CMD", "CMD-SHELL", "NONE"}, h.Command[0]) {
		return ClientError("%s.command must start with CMD or CMD-SHELL.", f)
	}
	for _, hf := range healthCheckFields(h) {
		if v := *hf.v; v != nil && (*v < hf.lo || *v > hf.hi) {
			return ClientError("%s.%s must be between %d and %d.", f, hf.name, hf.lo, hf.hi)
		}
	}
	return nil
}

func (c *checker) containerLogging(i int, cd *ContainerDefinition) *Error {
	f := containerField(i)
	if err := secrets(f+".secrets", cd.Secrets); err != nil {
		return err
	}
	lc := cd.LogConfiguration
	if lc == nil {
		return nil
	}
	if lc.LogDriver == "" {
		return ClientError("%s.logConfiguration.logDriver should not be null or empty.", f)
	}
	if err := checkEnum(f+".logConfiguration.logDriver", lc.LogDriver, LogDriver("").Values()); err != nil {
		return err
	}
	if lc.LogDriver == LogDriverAwslogs {
		var missing []string
		for _, opt := range []string{"awslogs-region", "awslogs-group"} {
			if lc.Options[opt] == "" {
				missing = append(missing, opt)
			}
		}
		if len(missing) > 0 {
			return ClientError("Log driver awslogs requires options: %s", strings.Join(missing, ", "))
		}
	}
	return secrets(f+".logConfiguration.secretOptions", lc.SecretOptions)
}

func secrets(f string, list []Secret) *Error {
	for j, s := range list {
		if s.Name == "" {
			return ClientError("%s[%d].name should not be null or empty.", f, j)
		}
		if s.ValueFrom == "" {
			return ClientError("%s[%d].valueFrom should not be null or empty.", f, j)
		}
	}
	return nil
}

// portMappings checks a container's port mappings and normalises them as it
// goes, the way ECS returns them: protocol tcp unless udp (ECS treats any
// other value as tcp), and in awsvpc and host modes hostPort = containerPort.
// used collects "<PROTOCOL> host port '<n>'" across the task's containers.
func (c *checker) portMappings(i int, cd *ContainerDefinition, used map[string]bool) *Error {
	if len(cd.PortMappings) > 0 && c.mode == NetworkModeNone {
		return ClientError("Port mappings are not supported when networkMode=none (%s.portMappings).", containerField(i))
	}
	for j := range cd.PortMappings {
		pm := &cd.PortMappings[j]
		f := fmt.Sprintf("%s.portMappings[%d]", containerField(i), j)
		if pm.Protocol != TransportProtocolUdp {
			pm.Protocol = TransportProtocolTcp
		}
		if err := checkEnum(f+".appProtocol", pm.AppProtocol, ApplicationProtocol("").Values()); err != nil {
			return err
		}
		if pm.ContainerPortRange != "" {
			if err := c.portRange(f, cd.Name, pm); err != nil {
				return err
			}
			continue
		}
		if err := c.singlePort(f, cd.Name, pm); err != nil {
			return err
		}
		if hp := int32Value(pm.HostPort); hp != 0 {
			key := fmt.Sprintf("%s host port '%d'", strings.ToUpper(string(pm.Protocol)), hp)
			if used[key] {
				return ClientError("%s is mapped multiple times in task.", key)
			}
			used[key] = true
		}
	}
	return nil
}

func (c *checker) singlePort(f, name string, pm *PortMapping) *Error {
	if cp := pm.ContainerPort; cp == nil || *cp < 1 || *cp > 65535 {
		return ClientError("Invalid 'containerPort' setting for container '%s'.", name)
	}
	if hp := pm.HostPort; hp != nil && (*hp < 0 || *hp > 65535) {
		return ClientError("Invalid 'hostPort' setting for container '%s'. %s.hostPort must be between 0 and 65535.", name, f)
	}
	if c.mode != NetworkModeAwsvpc && c.mode != NetworkModeHost {
		return nil
	}
	cp := *pm.ContainerPort
	if hp := int32Value(pm.HostPort); hp != 0 && hp != cp {
		return ClientError("When networkMode=%s, the host ports and container ports in port mappings must match.", c.mode)
	}
	pm.HostPort = &cp
	return nil
}

// portRange checks a containerPortRange mapping ("8000-8010"): allowed in
// bridge and awsvpc modes only, with no containerPort and no hostPort.
func (c *checker) portRange(f, name string, pm *PortMapping) *Error {
	invalid := func(why string) *Error {
		return ClientError("Invalid 'containerPortRange' setting for container '%s'. %s.containerPortRange %s.", name, f, why)
	}
	if c.mode != NetworkModeBridge && c.mode != NetworkModeAwsvpc {
		return invalid(fmt.Sprintf("is not supported when networkMode=%s", c.mode))
	}
	if pm.ContainerPort != nil {
		return invalid("cannot be combined with containerPort")
	}
	if int32Value(pm.HostPort) != 0 {
		return invalid("cannot be combined with hostPort")
	}
	lo, hi, ok := strings.Cut(pm.ContainerPortRange, "-")
	digits := func(s string) bool { return s != "" && strings.Trim(s, "0123456789") == "" }
	first, err1 := strconv.Atoi(lo)
	last, err2 := strconv.Atoi(hi)
	if !ok || !digits(lo) || !digits(hi) || err1 != nil || err2 != nil || first < 1 || last > 65535 || first >= last {
		return invalid("must be two ports from 1 to 65535, the first lower than the last, like 8000-8010")
	}
	return nil
}

// dependencies checks dependsOn and links across containers: targets exist,
// COMPLETE and SUCCESS only wait on non-essential containers, and neither
// graph has a cycle (a task could never start).
func (c *checker) dependencies() *Error {
	defs := c.td.ContainerDefinitions
	for i := range defs {
		for j, d := range defs[i].DependsOn {
			if err := c.dependency(i, j, d); err != nil {
				return err
			}
		}
	}
	dependsOn := func(i int) []string {
		var names []string
		for _, d := range defs[i].DependsOn {
			names = append(names, d.ContainerName)
		}
		return names
	}
	if c.cyclic(dependsOn) {
		return ClientError("Container dependencies should not have a cycle")
	}
	links := func(i int) []string {
		var names []string
		for _, l := range defs[i].Links {
			target, _, _ := strings.Cut(l, ":")
			names = append(names, target)
		}
		return names
	}
	if c.cyclic(links) {
		return ClientError("Container links should not have a cycle")
	}
	return nil
}

func (c *checker) dependency(i, j int, d ContainerDependency) *Error {
	f := fmt.Sprintf("%s.dependsOn[%d]", containerField(i), j)
	switch {
	case d.ContainerName == "":
		return ClientError("%s.containerName should not be null or empty.", f)
	case d.Condition == "":
		return ClientError("%s.condition should not be null or empty.", f)
	}
	if err := checkEnum(f+".condition", d.Condition, ContainerCondition("").Values()); err != nil {
		return err
	}
	t, ok := c.names[d.ContainerName]
	switch {
	case !ok:
		return ClientError("Cannot depend on container '%s' because it does not exist.", d.ContainerName)
	case t == i:
		return ClientError("Container '%s' cannot depend on itself (%s).", d.ContainerName, f)
	case (d.Condition == ContainerConditionCOMPLETE || d.Condition == ContainerConditionSUCCESS) &&
		essential(&c.td.ContainerDefinitions[t]):
		return ClientError("A dependency container with SUCCESS or COMPLETE condition cannot be an essential container")
	}
	return nil
}

// cyclic reports whether the graph whose edges run from container i to the
// containers named by edges(i) has a cycle. Unknown names are ignored: the
// checks before this one refuse them.
func (c *checker) cyclic(edges func(int) []string) bool {
	const (
		unseen = iota
		onPath
		done
	)
	state := make([]int, len(c.td.ContainerDefinitions))
	var visit func(int) bool
	visit = func(i int) bool {
		state[i] = onPath
		for _, name := range edges(i) {
			t, ok := c.names[name]
			if !ok {
				continue
			}
			if state[t] == onPath || state[t] == unseen && visit(t) {
				return true
			}
		}
		state[i] = done
		return false
	}
	for i := range state {
		if state[i] == unseen && visit(i) {
			return true
		}
	}
	return false
}

// normaliseContainer fills in what DescribeTaskDefinition shows for a
// container that left it out: essential true, the health check's default
// timings, and empty lists for portMappings, environment, mountPoints,
// volumesFrom and systemControls (cpu, a plain int, is already 0).
func (c *checker) normaliseContainer(cd *ContainerDefinition) {
	if cd.Essential == nil {
		t := true
		cd.Essential = &t
	}
	if h := cd.HealthCheck; h != nil {
		for _, hf := range healthCheckFields(h) {
			if *hf.v == nil && hf.def != 0 {
				d := hf.def
				*hf.v = &d
			}
		}
	}
	if cd.PortMappings == nil {
		cd.PortMappings = []PortMapping{}
	}
	if cd.Environment == nil {
		cd.Environment = []KeyValuePair{}
	}
	if cd.MountPoints == nil {
		cd.MountPoints = []MountPoint{}
	}
	if cd.VolumesFrom == nil {
		cd.VolumesFrom = []VolumeFrom{}
	}
	if cd.SystemControls == nil {
		cd.SystemControls = []SystemControl{}
	}
}
