package main

import (
	"os"
	"runtime/debug"
	"unsafe"

	"golang.org/x/sys/unix"
)

// hugePageReserve is how much of the Go heap's address space is advised
// for transparent huge pages: more than the 1M-row benchmark's stages use
// at their peak (under 300 MiB); a larger heap gets ordinary pages beyond.
const hugePageReserve = 512 << 20

// hugePageSize is the x86-64 and arm64 transparent huge page size.
const hugePageSize = 2 << 20

// adviseHugePages asks the kernel to back the first hugePageReserve bytes of
// the heap with transparent huge pages (madvise MADV_HUGEPAGE). Kernels
// configured with THP "madvise", a common default, give huge pages only on
// such a request, and the Go runtime does not make it for the heap. A stage
// touches hundreds of MiB of fresh memory, and on a virtual machine every
// 4 KiB page costs a fault: on the 2-core development machine a process
// writing one byte per page of a new 300 MB slice took 1.0 s with 4 KiB
// pages and 0.6 s with huge pages, and the normalize, fingerprint and
// cluster chain on the 1M-row benchmark file took 0.81x the wall time with
// huge pages for all memory (see docs/evaluation.md).
//
// It allocates one large pointer-free slice (the runtime maps fresh,
// untouched memory for it), advises its whole 2 MiB-aligned part, and
// returns the memory to the allocator and the OS (debug.FreeOSMemory); the
// advice stays with the address range, which the allocator hands out
// first. Nothing is touched, so nothing is resident until the stage uses
// it. TAKEDOWN_HUGEPAGES=0 turns this off; errors are ignored (the advice
// is only a hint).
func adviseHugePages() {
	if os.Getenv("TAKEDOWN_HUGEPAGES") == "0" {
		return
	}
	b := make([]byte, hugePageReserve)
	start := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	off := int((hugePageSize - start%hugePageSize) % hugePageSize)
	n := (len(b) - off) / hugePageSize * hugePageSize
	if n > 0 {
		_ = unix.Madvise(b[off:off+n], unix.MADV_HUGEPAGE)
	}
	b = nil
	debug.FreeOSMemory()
}
