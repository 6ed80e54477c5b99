// The all-reduce probe of bench_workers.sh: two processes on this machine rendezvous on the
// loopback address as `nnlab-cli train --workers 2` does (nnlab's ProcessGroup: a TCPStore,
// Gloo over 127.0.0.1) and time ProcessGroup::averageGradients, the call a training step makes,
// on float buffers of the given sizes. One line per size, for the script to read:
//
//   allreduce bytes=41448 iterations=1000 median_s=0.000071 p10_s=0.000060 p90_s=0.000090
//
//   bench_workers [--bytes 4,41448,1048576,16777216] [--warmup 20]
//
// Iterations per size: 2e8 bytes' worth, between 10 and 1,000 (both ranks run the same count).
#include "process_group.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <netinet/in.h>
#include <sstream>
#include <string>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

using nnlab::DistributedSetup;
using nnlab::detail::ProcessGroup;

namespace {

int freeLoopbackPort()
{
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof(address);
    int port = 0;
    if (fd >= 0 && ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0
        && ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0)
        port = ntohs(address.sin_port);
    if (fd >= 0)
        ::close(fd);
    return port;
}

int iterationsFor(long bytes) { return int(std::clamp(2e8 / double(std::max(1L, bytes)), 10.0, 1000.0)); }

double quantile(std::vector<double> v, double q)
{
    std::sort(v.begin(), v.end());
    return v[std::min(v.size() - 1, size_t(q * double(v.size())))];
}

int runRank(const DistributedSetup& setup, const std::vector<long>& sizes, int warmup)
{
    torch::set_num_threads(1);   // as a worker of `--workers 2` with training.threads=1
    ProcessGroup group(setup);
    for (long bytes : sizes) {
        const torch::Tensor flat = torch::ones({std::max(1L, bytes / 4)});
        for (int i = 0; i < warmup; ++i)
            group.averageGradients(flat);
        const int iterations = iterationsFor(bytes);
        std::vector<double> seconds;
        seconds.reserve(size_t(iterations));
        for (int i = 0; i < iterations; ++i) {
            const auto start = std::chrono::steady_clock::now();
            group.averageGradients(flat);
            seconds.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
        }
        if (setup.rank == 0)
            std::printf("allreduce bytes=%ld iterations=%d median_s=%.9f p10_s=%.9f p90_s=%.9f\n", bytes, iterations,
                        quantile(seconds, 0.5), quantile(seconds, 0.1), quantile(seconds, 0.9));
        std::fflush(stdout);
    }
    return 0;
}

} // namespace

int main(int argc, char** argv)
{
    std::vector<long> sizes{4, 41448, 1 << 20, 16 << 20};
    int warmup = 20;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        if (arg == "--bytes" && i + 1 < argc) {
            sizes.clear();
            std::stringstream list(argv[++i]);
            for (std::string item; std::getline(list, item, ',');)
                if (const long bytes = std::atol(item.c_str()); bytes > 0)
                    sizes.push_back(bytes);
        } else if (arg == "--warmup" && i + 1 < argc) {
            warmup = std::max(0, std::atoi(argv[++i]));
        } else {
            std::fprintf(stderr, "usage: bench_workers [--bytes B1,B2,...] [--warmup N]\n");
            return 2;
        }
    }
    if (sizes.empty()) {
        std::fprintf(stderr, "bench_workers: --bytes needs positive byte counts\n");
        return 2;
    }
    DistributedSetup setup;
    setup.worldSize = 2;
    setup.masterPort = freeLoopbackPort();
    setup.timeoutSeconds = 120;
    // Rank 1 is forked before LibTorch starts any thread.
    const pid_t child = ::fork();
    if (child < 0) {
        std::perror("bench_workers: fork");
        return 1;
    }
    setup.rank = child == 0 ? 1 : 0;
    int status = 0;
    try {
        status = runRank(setup, sizes, warmup);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "bench_workers (rank %d): %s\n", setup.rank, e.what());
        status = 1;
    }
    if (child == 0)
        std::_Exit(status);
    int childStatus = 0;
    ::waitpid(child, &childStatus, 0);
    return status != 0 || !WIFEXITED(childStatus) || WEXITSTATUS(childStatus) != 0;
}
