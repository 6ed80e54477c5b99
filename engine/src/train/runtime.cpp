#include "nnlab/runtime.h"

#include "process_memory.h"
#include "tuning.h"

#include <torch/torch.h>

#include <chrono>
#include <cstdlib>
#include <dlfcn.h>
#include <filesystem>
#include <fstream>
#include <thread>

namespace nnlab {

void prepareProcess()
{
    // OMP_WAIT_POLICY is deliberately left alone. GNU OpenMP reads it when the library loads,
    // before main(), so setting it here only reached child processes; and where it does take
    // effect, PASSIVE (threads sleep at once between parallel regions) measured 10x slower
    // steps on two threads for the default CNN (16 ms against 1.7 ms), because every one of
    // a step's many small regions then waits for the scheduler. The default (spin briefly,
    // then sleep) keeps the GUI's event-loop lag under 4 ms at p99 (bench_gui); the tuner and
    // the ThreadGuard handle a second core that another process takes.
    detail::tuneAllocator();   // process_memory.cpp: glibc arenas and trimming
    static bool once = [] {
        try {
            at::set_num_interop_threads(1);
        } catch (const std::exception&) {
            // Already started by an earlier LibTorch call: the default stays.
        }
        return true;
    }();
    (void)once;
}

std::string torchVersion()
{
    return std::to_string(TORCH_VERSION_MAJOR) + "." + std::to_string(TORCH_VERSION_MINOR) + "."
           + std::to_string(TORCH_VERSION_PATCH);
}

namespace {

// The library whose sgemm_ LibTorch's calls resolve to (an LD_PRELOAD or the libblas.so.3
// alternative decides), with symbolic links resolved.
std::string blasProvider()
{
    Dl_info info{};
    void* sgemm = dlsym(RTLD_DEFAULT, "sgemm_");
    if (!sgemm || !dladdr(sgemm, &info) || !info.dli_fname)
        return {};
    std::error_code ec;
    const auto real = std::filesystem::canonical(info.dli_fname, ec);
    return ec ? std::string(info.dli_fname) : real.string();
}

std::string mappedBlas()
{
    std::ifstream maps("/proc/self/maps");
    std::string line;
    std::string found;
    while (std::getline(maps, line)) {
        const auto slash = line.find('/');
        if (slash == std::string::npos)
            continue;
        const std::string path = line.substr(slash);
        const auto base = path.substr(path.rfind('/') + 1);
        if (base.find("openblas") != std::string::npos || base.find("mkl_rt") != std::string::npos
            || base.find("blis") != std::string::npos)
            return path;   // an optimised BLAS wins over the libblas.so.3 alternative link
        if (base.rfind("libblas", 0) == 0 && found.empty())
            found = path;
    }
    return found.empty() ? "unknown" : found;
}

double measureMatmulGflops()
{
    const int previous = at::get_num_threads();
    detail::applyThreads(1);
    torch::NoGradGuard noGrad;
    const int64_t n = 256;
    auto a = torch::rand({n, n});
    auto b = torch::rand({n, n});
    auto c = torch::mm(a, b);   // warm-up
    double best = 1e9;
    for (int rep = 0; rep < 5; ++rep) {
        const auto start = std::chrono::steady_clock::now();
        c = torch::mm(a, b);
        best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    }
    detail::applyThreads(previous);
    return 2.0 * n * n * n / best / 1e9;
}

} // namespace

RuntimeInfo probeRuntime(bool measure)
{
    RuntimeInfo info;
    info.nnlabVersion = NNLAB_VERSION;
    info.torchVersion = torchVersion();
    info.cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    info.cudaAvailable = torch::cuda::is_available();
    info.blasLibrary = blasProvider();
    if (info.blasLibrary.empty())
        info.blasLibrary = mappedBlas();
    if (measure) {
        info.matmulGflops = measureMatmulGflops();
        // OpenBLAS does 30-100 GFLOP/s a core on AVX2 machines; the reference BLAS about 2.
        info.slowBlas = info.matmulGflops < 8.0;
    }
    if (info.slowBlas)
        info.warning = "matrix products run at " + std::to_string(static_cast<int>(info.matmulGflops))
                       + " GFLOP/s (reference BLAS: " + info.blasLibrary
                       + "); install libopenblas0-pthread for a 10x faster training";
    return info;
}

} // namespace nnlab
