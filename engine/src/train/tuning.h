// Chooses the execution set-up (intra-op threads, oneDNN on or off for convolutions) by
// timing a few real training steps of the job, the way cudnn.benchmark picks kernels.
#pragma once

#include <functional>
#include <string>

namespace nnlab::detail {

struct Execution {
    int threads = 1;
    bool mkldnn = true;
    std::string description;   // what was measured, for the run's record
};

// `step` runs one training step on a fixed batch. `requestedThreads` > 0 fixes the thread
// count (only oneDNN is measured then, and only when `hasConvolution`).
Execution chooseExecution(const std::function<void()>& step, int requestedThreads, bool hasConvolution);

// Applies an execution set-up to this process.
void applyExecution(const Execution& execution);

} // namespace nnlab::detail
