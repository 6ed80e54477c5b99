// The trainer's side of data-parallel training (nnlab/distributed.h): rank 0's state to every
// worker at the start, gradients averaged after each backward pass together with the shards'
// loss and accuracy sums, and rank 0's decisions (go on at this learning-rate scale, or stop)
// at the top of every step. Only rank 0 evaluates, runs the hooks and records.
#pragma once

#include "flat_optim.h"
#include "process_group.h"
#include "session.h"
#include "train_hooks.h"

#include <optional>

namespace nnlab::detail {

class DataParallel {
public:
    DataParallel(const DistributedSetup& setup, int64_t logEverySteps, Reporter& report);

    bool leader() const { return m_group.rank() == 0; }
    int workers() const { return m_group.size(); }

    // Everyone takes rank 0's parameters, buffers, optimizer state, step and learning-rate
    // scale (a resumed run restores on rank 0 only).
    void syncState(torch::nn::Module& model, FlatOptimizer& optimizer, TrainState& state);

    // After backward: the gradients become the mean over workers. Returns [loss x samples,
    // correct, samples] summed over the shards (float64, CPU). Rank 0 reports each worker's
    // samples/s every logEverySteps steps as workers/<rank>/samples_per_sec, and the mean
    // seconds per step spent averaging gradients as workers/allreduce_time.
    torch::Tensor afterBackward(FlatOptimizer& optimizer, const torch::Tensor& loss, const torch::Tensor& output,
                                const torch::Tensor& target, bool classify, const TrainState& state);

    // The top of each step: rank 0 says go on (its learning-rate scale is copied into every
    // worker's state); a worker returns how rank 0 ended the run when it did.
    std::optional<TrainStatus> control(TrainState& state);
    // Rank 0 ends the run: the workers' next control() returns `status`.
    void announceStop(TrainStatus status);

private:
    ProcessGroup m_group;
    int64_t m_logEvery;
    Reporter& m_report;
    std::chrono::steady_clock::time_point m_lastStep = std::chrono::steady_clock::now();
    std::vector<double> m_rateSums;
    double m_allReduceSeconds = 0.0;   // over the reporting window
    int64_t m_rateSteps = 0;
};

} // namespace nnlab::detail
