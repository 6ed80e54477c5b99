// Pieces of a training run kept out of the loop itself: the data as tensors, evaluation,
// and the reporter that batches metrics for the callbacks.
#pragma once

#include "nnlab/trainer.h"

#include <torch/torch.h>

#include <chrono>
#include <functional>

namespace nnlab::detail {

// A data set viewed as tensors on the training device. On the CPU the tensors alias the
// Dataset's arrays (no copy), so the Dataset must outlive them.
struct TensorSet {
    torch::Tensor x;        // [N, ...sampleShape] float
    torch::Tensor y;        // [N] int64 labels, or [N, targetDim] float targets
    int64_t count = 0;
    bool empty() const { return count == 0; }
};
TensorSet toTensors(const Dataset& data, bool classification, const torch::Device& device);

struct Evaluation {
    double loss = 0.0;
    double accuracy = -1.0;  // -1 for regression
    torch::Tensor predictions;   // classification: each sample's predicted class (int64, the set's device)
};
// Mean loss (and accuracy) over the whole set, in eval mode without autograd.
Evaluation evaluate(torch::nn::Sequential& model, const TensorSet& set, int64_t batchSize, bool classification);

torch::Tensor lossFunction(const torch::Tensor& output, const torch::Tensor& target, bool classification);

double unixTime();

// The experiment fitted to its loaded data (fitToData, unless it already is); throws
// std::runtime_error with the first problem.
PreparedExperiment fittedTo(const PreparedExperiment& experiment, const DataBundle& data);

// Runs `body` and returns "" or, when it throws, the message a failed run reports: LibTorch's
// without its backtrace, an allocation failure with what to lower, else the exception's text.
std::string failureOf(const std::function<void()>& body);

// Collects metric points and hands them to the callbacks at most every `interval` seconds.
class Reporter {
public:
    Reporter(const TrainCallbacks& callbacks, double interval) : m_callbacks(callbacks), m_interval(interval) {}
    void add(const std::string& tag, int64_t step, double value);
    // Queued and delivered with the metrics (TrainCallbacks::snapshots); dropped when nobody listens.
    void addSnapshot(Snapshot snapshot);
    bool wantsSnapshots() const { return static_cast<bool>(m_callbacks.snapshots); }
    void progress(const Progress& p, bool force = false);   // flushes metrics too when due
    void flush();
    void event(EventKind kind, int64_t step, const std::string& detail);
    // Called with each point as it is added (the trainer passes points on to its hooks).
    void setListener(std::function<void(const MetricPoint&)> listener) { m_listener = std::move(listener); }
    const std::map<std::string, double>& last() const { return m_last; }

private:
    const TrainCallbacks& m_callbacks;
    double m_interval;
    std::vector<MetricPoint> m_pending;
    std::vector<Snapshot> m_pendingSnapshots;
    std::map<std::string, double> m_last;
    std::function<void(const MetricPoint&)> m_listener;
    std::chrono::steady_clock::time_point m_lastFlush = std::chrono::steady_clock::now();
};

} // namespace nnlab::detail
