// Chooses the execution set-up of a run by timing a few real training steps of the job, the
// way cudnn.benchmark picks kernels: intra-op threads, and for convolutional networks the
// memory format (NCHW or channels-last) and each convolution's back end (oneDNN or native).
// The choices are cached per model shape and machine (tuning_cache.h), so that a second start
// of the same model skips the measuring. training.deterministic measures nothing: fixed
// choices, so that two runs on one machine compute the same numbers.
#pragma once

#include "builder.h"
#include "fused_ops.h"
#include "session.h"

#include <string>
#include <vector>

namespace nnlab::detail {

struct Execution {
    int threads = 1;
    bool channelsLast = false;      // conv weights and image batches in NHWC
    std::vector<bool> nativeConvs;  // per TunedConv2d, in module order
    double stepSeconds = 0.0;       // measured time of a full-batch step; 0 when not measured
    double oneThreadSeconds = 0.0;  // the same on one thread, when that was measured
    std::string description;        // what was measured, for the run's record: "measured: ...",
                                    // "cached: ..." (the measurements of an earlier run), "fixed: ...",
                                    // "deterministic: ..."
    bool cached = false;            // taken from the tuning cache, not measured now
    bool loadLimited = false;       // more threads not measured: other processes held the cores
    double tuningSeconds = 0.0;     // wall time tuneExecution took (cache look-up included);
                                    // measured and cached descriptions end "; tuning 0.620 s"
};

// Times candidate set-ups on a copy of the start state (parameters and buffers are restored
// afterwards) and applies the fastest; or applies the cached choice of an earlier run of the
// same model on this machine. training.threads > 0 fixes the thread count; a network without
// convolutions at a fixed count is not timed at all. training.deterministic: training.threads
// (else 1) threads, NCHW, oneDNN for every convolution, nothing timed or cached.
Execution tuneExecution(const ExperimentSpec& spec, torch::nn::Sequential& model, const TensorSet& train,
                        const torch::Device& device);

// Intra-op threads for LibTorch's OpenMP pool and for OpenBLAS's own pool.
void applyThreads(int threads);

// Applies an execution set-up to this process and the model.
void applyExecution(const Execution& execution, torch::nn::Sequential& model);
// Only the model's part (memory format, convolution back ends): for weights just loaded from
// a checkpoint, leaving the thread count (which the thread guard may have lowered) alone.
void applyLayout(const Execution& execution, torch::nn::Sequential& model);

// Puts an image batch in the memory format the execution uses.
torch::Tensor toExecutionFormat(const torch::Tensor& x, const Execution& execution);

// Falls back to one thread when other processes take the cores: with OpenMP threads that
// sleep between parallel regions (see prepareProcess) every region then waits for the
// scheduler, and two threads on two busy cores can run ten times slower than one. The sign:
// steps slower than one thread was measured to take, over two half-second spans in a row.
class ThreadGuard {
public:
    // Only for thread counts the tuner picked (training.threads = 0): a fixed count is kept.
    ThreadGuard(const Execution& execution, bool picked)
        : m_threads(picked ? execution.threads : 1), m_stepSeconds(execution.oneThreadSeconds) {}
    // Called with each logging window; returns a message once it has dropped to one thread.
    std::string check(int64_t steps, double seconds);

private:
    int m_threads;
    double m_stepSeconds;
    int64_t m_steps = 0;
    double m_seconds = 0.0;
    int m_slowSpans = 0;
};

} // namespace nnlab::detail
