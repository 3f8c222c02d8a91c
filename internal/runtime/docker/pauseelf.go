package docker

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"fmt"
)

// The pause container's program is a few machine instructions that block
// in a system call forever, wrapped in the smallest static ELF executable
// the kernel runs: an ELF header, one loadable segment mapping the whole
// file, and the code right after the headers. No libc, no loader, no
// registry to pull it from.

// pauseLoadAddr is where the file is mapped: well above vm.mmap_min_addr.
const pauseLoadAddr = 0x400000

// pauseCode is, per GOARCH, the ELF machine and the code that loops on a
// blocking system call. A signal with a handler would end the call; the
// process has none, and as PID 1 of its namespace it ignores SIGTERM and
// SIGINT, so only SIGKILL stops it.
var pauseCode = map[string]struct {
	machine elf.Machine
	code    []byte
}{
	"amd64": {elf.EM_X86_64, []byte{
		0xb8, 0x22, 0x00, 0x00, 0x00, // mov eax, 34 (pause)
		0x0f, 0x05, //                   syscall
		0xeb, 0xf7, //                   jmp back to mov (-9)
	}},
	// arm64 has no pause: ppoll with no descriptors and no timeout blocks
	// the same way.
	"arm64": {elf.EM_AARCH64, arm64Words(
		0xaa1f03e0, // mov x0, xzr  (fds = NULL)
		0xaa1f03e1, // mov x1, xzr  (nfds = 0)
		0xaa1f03e2, // mov x2, xzr  (timeout = NULL: forever)
		0xaa1f03e3, // mov x3, xzr  (sigmask = NULL)
		0xaa1f03e4, // mov x4, xzr  (sigsetsize)
		0xd2800928, // mov x8, #73  (ppoll)
		0xd4000001, // svc #0
		0x17fffff9, // b back to the first mov (-7 instructions)
	)},
}

func arm64Words(words ...uint32) []byte {
	var out []byte
	for _, w := range words {
		out = binary.LittleEndian.AppendUint32(out, w)
	}
	return out
}

// pauseExecutable returns the pause program for goarch ("amd64", "arm64").
func pauseExecutable(goarch string) ([]byte, error) {
	arch, ok := pauseCode[goarch]
	if !ok {
		return nil, fmt.Errorf("no pause executable for architecture %q: Gantry builds one for amd64 and arm64 only", goarch)
	}
	const headers = 64 + 56 // one ELF64 header, one program header; a multiple of 4, as arm64 code needs
	size := uint64(headers + len(arch.code))
	hdr := elf.Header64{
		Type:      uint16(elf.ET_EXEC),
		Machine:   uint16(arch.machine),
		Version:   uint32(elf.EV_CURRENT),
		Entry:     pauseLoadAddr + headers,
		Phoff:     64,
		Ehsize:    64,
		Phentsize: 56,
		Phnum:     1,
		Shentsize: 64,
	}
	copy(hdr.Ident[:], elf.ELFMAG)
	hdr.Ident[elf.EI_CLASS] = byte(elf.ELFCLASS64)
	hdr.Ident[elf.EI_DATA] = byte(elf.ELFDATA2LSB)
	hdr.Ident[elf.EI_VERSION] = byte(elf.EV_CURRENT)
	hdr.Ident[elf.EI_OSABI] = byte(elf.ELFOSABI_NONE)
	prog := elf.Prog64{
		Type:   uint32(elf.PT_LOAD),
		Flags:  uint32(elf.PF_R | elf.PF_X),
		Vaddr:  pauseLoadAddr,
		Paddr:  pauseLoadAddr,
		Filesz: size,
		Memsz:  size,
		Align:  0x1000,
	}
	var buf bytes.Buffer
	_ = binary.Write(&buf, binary.LittleEndian, hdr) // writes to a buffer do not fail
	_ = binary.Write(&buf, binary.LittleEndian, prog)
	buf.Write(arch.code)
	return buf.Bytes(), nil
}
