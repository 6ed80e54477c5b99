#include "process_memory.h"

#include <malloc.h>

namespace nnlab::detail {

void tuneAllocator()
{
    // Training frees and reallocates the same activation sizes every step. glibc's defaults
    // hand large blocks back to the kernel (munmap, heap trim) and fault them in again,
    // zeroed, on the next step: that was half of the default CNN's step on a 2-core machine.
    // Keep up to 256 MiB of freed memory, and serve blocks of up to 32 MiB from the heap.
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    mallopt(M_TRIM_THRESHOLD, 256 << 20);
    // One arena for every thread. The GUI trains on a worker thread, which glibc would give
    // an arena of its own, made of mmap'ed heaps that it shrinks and regrows step after step
    // regardless of the settings above: the GUI trained 10% slower than nnlab-cli, whose
    // training runs on the main thread (bench_gui). Small blocks still come from each
    // thread's cache without the arena's lock. Threads started before this call keep the
    // arenas they have: call it first thing.
    mallopt(M_ARENA_MAX, 1);
}

} // namespace nnlab::detail
