package docker

import (
	"bytes"
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"testing"
	"time"
)

func TestPauseExecutableIsELF(t *testing.T) {
	for goarch, machine := range map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64} {
		bin, err := pauseExecutable(goarch)
		if err != nil {
			t.Fatal(err)
		}
		f, err := elf.NewFile(bytes.NewReader(bin))
		if err != nil {
			t.Fatalf("%s: %v", goarch, err)
		}
		if f.Class != elf.ELFCLASS64 || f.Data != elf.ELFDATA2LSB || f.Type != elf.ET_EXEC || f.Machine != machine {
			t.Errorf("%s: header %+v", goarch, f.FileHeader)
		}
		if len(f.Progs) != 1 {
			t.Fatalf("%s: %d program headers, want 1", goarch, len(f.Progs))
		}
		p := f.Progs[0]
		end := p.Vaddr + p.Filesz
		if p.Type != elf.PT_LOAD || p.Off != 0 || p.Filesz != uint64(len(bin)) || p.Flags != elf.PF_R|elf.PF_X ||
			f.Entry < p.Vaddr || f.Entry >= end || f.Entry%4 != 0 {
			t.Errorf("%s: segment %+v, entry %#x", goarch, p.ProgHeader, f.Entry)
		}
	}
	if _, err := pauseExecutable("riscv64"); err == nil {
		t.Error("pauseExecutable(riscv64) succeeded; want an error naming the supported architectures")
	}
}

// TestPauseExecutableRuns runs the program for this host: it must keep
// running until killed.
func TestPauseExecutableRuns(t *testing.T) {
	if goruntime.GOOS != "linux" {
		t.Skipf("the pause executable is for Linux, not %s", goruntime.GOOS)
	}
	bin, err := pauseExecutable(goruntime.GOARCH)
	if err != nil {
		t.Skip(err)
	}
	path := filepath.Join(t.TempDir(), "pause")
	if err := os.WriteFile(path, bin, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(path)
	if err := cmd.Start(); err != nil {
		t.Fatalf("start the pause executable: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		t.Fatalf("the pause executable exited: %v", err)
	case <-time.After(200 * time.Millisecond):
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err == nil || cmd.ProcessState.ExitCode() != -1 {
		t.Errorf("after SIGKILL: %v, state %v; want killed by the signal", err, cmd.ProcessState)
	}
}
