// Which OpenBLAS kernels a program that loads LibTorch gets: called before LibTorch is
// loaded (nnlab-cli before it execs nnlab-engine). No LibTorch, no Qt.
//
// Debian's LibTorch does its matrix products (linear layers, the native convolutions' GEMM)
// in OpenBLAS, which picks its kernels from the CPU model when it loads. On CPUs it does not
// know (newer Xeons, and VMs that report a generic "Intel Xeon Processor") OpenBLAS 0.3.21
// falls back to "Prescott", SSE3 code: on the 2-core AVX-512 development VM a 512^3 sgemm
// ran at 9.8 GFLOP/s on one thread, 68.9 with the SkylakeX kernels. OPENBLAS_CORETYPE
// overrides the choice, and only before the library loads, so the front end sets it from
// the instruction sets the CPU and OS support, unless the user set it. Kernels it names
// need no more than those sets: SkylakeX AVX-512 F/CD/BW/DQ/VL, Haswell AVX2 and FMA.
#pragma once

#include <cstdlib>

namespace nnlab {

// The OpenBLAS core type for this CPU ("SkylakeX", "Haswell"), or nullptr to leave
// OpenBLAS's own choice (older CPUs, other architectures).
inline const char* blasCoreTypeForCpu()
{
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512cd") && __builtin_cpu_supports("avx512bw")
        && __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl"))
        return "SkylakeX";
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        return "Haswell";
#endif
    return nullptr;
}

// Sets OPENBLAS_CORETYPE for this process and the programs it starts, unless it is set.
inline void chooseBlasCore()
{
    if (const char* core = blasCoreTypeForCpu(); core && !std::getenv("OPENBLAS_CORETYPE"))
        ::setenv("OPENBLAS_CORETYPE", core, 0);
}

} // namespace nnlab
