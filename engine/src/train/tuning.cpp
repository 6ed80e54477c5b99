#include "tuning.h"

#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <thread>
#include <vector>

namespace nnlab::detail {

void applyExecution(const Execution& e)
{
    at::set_num_threads(e.threads);
    at::globalContext().setUserEnabledMkldnn(e.mkldnn);
}

namespace {

// Seconds per step: warm-up first (the first calls of a shape allocate and pick kernels),
// then the best of a few short timed bursts, to ride out noise from other processes.
double timeSteps(const std::function<void()>& step)
{
    using Clock = std::chrono::steady_clock;
    const auto warmStart = Clock::now();
    for (int i = 0; i < 3; ++i)
        step();
    const double warm = std::chrono::duration<double>(Clock::now() - warmStart).count() / 3.0;
    const int perBurst = std::clamp(static_cast<int>(0.03 / std::max(warm, 1e-6)), 1, 20);
    double best = 1e9;
    for (int burst = 0; burst < 3; ++burst) {
        const auto start = Clock::now();
        for (int i = 0; i < perBurst; ++i)
            step();
        best = std::min(best, std::chrono::duration<double>(Clock::now() - start).count() / perBurst);
    }
    return best;
}

} // namespace

Execution chooseExecution(const std::function<void()>& step, int requestedThreads, bool hasConvolution)
{
    const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    std::vector<int> threadChoices;
    if (requestedThreads > 0)
        threadChoices = {requestedThreads};
    else
        for (int t = 1; t <= cores; t *= 2)
            threadChoices.push_back(t);
    if (requestedThreads <= 0 && threadChoices.back() != cores)
        threadChoices.push_back(cores);
    std::vector<bool> mkldnnChoices = hasConvolution ? std::vector<bool>{true, false} : std::vector<bool>{true};

    Execution best;
    double bestTime = 1e18;
    std::string log;
    const bool onlyOne = threadChoices.size() == 1 && mkldnnChoices.size() == 1;
    for (int threads : threadChoices) {
        for (bool mkldnn : mkldnnChoices) {
            Execution candidate{threads, mkldnn, {}};
            applyExecution(candidate);
            const double t = onlyOne ? 0.0 : timeSteps(step);
            char line[96];
            std::snprintf(line, sizeof line, "%s%d thread%s%s %.2f ms/step", log.empty() ? "" : ", ", threads,
                          threads == 1 ? "" : "s", hasConvolution ? (mkldnn ? " onednn" : " native") : "", t * 1e3);
            log += line;
            if (t < bestTime) {
                bestTime = t;
                best = candidate;
            }
        }
    }
    best.description = onlyOne ? "fixed: " + std::to_string(best.threads) + " thread(s)" : "measured: " + log;
    applyExecution(best);
    return best;
}

} // namespace nnlab::detail
