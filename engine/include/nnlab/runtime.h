// The process's compute set-up: LibTorch version, which BLAS is loaded and how fast matrix
// products run, so a slow reference BLAS is reported instead of silently costing 10x.
#pragma once

#include <string>

namespace nnlab {

struct RuntimeInfo {
    std::string nnlabVersion;
    std::string torchVersion;     // "1.13.1"
    std::string blasLibrary;      // the BLAS shared object mapped into the process
    double matmulGflops = 0.0;    // measured single-thread 256x256 float matrix product
    bool slowBlas = false;        // the measurement looks like the reference BLAS
    int cores = 1;                // hardware threads available
    bool cudaAvailable = false;
    std::string warning;          // one line for the user when something costs speed; "" if none
};

// Call first thing in main(), before any LibTorch work: sets process-wide defaults (one
// inter-op thread; an allocator that keeps freed activation memory).
void prepareProcess();

// Looks at the loaded libraries and (with measure) times a matrix product (~50 ms).
RuntimeInfo probeRuntime(bool measure = true);

std::string torchVersion();

} // namespace nnlab
