// Training: a loop over epochs of shuffled mini-batches that knows nothing of Qt or storage.
// It reports through callbacks and checks a TrainControl once per batch.
#pragma once

#include "nnlab/data.h"
#include "nnlab/spec.h"

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace nnlab {

// One scalar, TensorBoard style: tag "train/loss", "val/accuracy", "lr", ...
struct MetricPoint {
    std::string tag;
    int64_t step = 0;        // optimizer steps taken so far
    double wallTime = 0.0;   // seconds since the Unix epoch
    double value = 0.0;
};

struct Progress {
    int64_t epoch = 0;           // 1-based epoch in progress
    int64_t epochs = 0;
    int64_t step = 0;            // optimizer steps taken
    int64_t totalSteps = 0;
    double samplesPerSec = 0.0;  // recent training throughput
    double etaSeconds = 0.0;     // estimated time to the end of training
    double loss = 0.0;           // recent mean training loss
    double accuracy = -1.0;      // recent training accuracy, -1 for regression
};

// What the trainer tells about itself once it has set up (before the first step).
struct TrainInfo {
    std::string device;          // "cpu", "cuda:0"
    int64_t threads = 0;         // intra-op threads in use
    std::string threadChoice;    // how they were chosen ("measured: 1 thread 5200/s, 2 threads 4100/s")
    int64_t parameters = 0;
    int64_t stepsPerEpoch = 0;
    int64_t totalSteps = 0;
    int64_t startStep = 0;       // > 0 when resumed from a checkpoint
    std::string dataDescription;
};

// Pause, resume and cancel from any thread; the trainer looks once per batch.
class TrainControl {
public:
    void pause();
    void resume();
    void cancel();                          // also wakes a paused trainer
    void cancelFromSignal() { m_cancelled.store(true); }   // async-signal-safe; no wake-up
    bool isPaused() const { return m_paused.load(); }
    bool isCancelled() const { return m_cancelled.load(); }
    // Called by the trainer once per batch: blocks while paused; false when cancelled.
    bool checkpoint();

private:
    std::atomic<bool> m_paused{false};
    std::atomic<bool> m_cancelled{false};
    std::mutex m_mutex;
    std::condition_variable m_wake;
};

struct TrainCallbacks {
    std::function<void(const TrainInfo&)> started;
    std::function<void(const std::vector<MetricPoint>&)> metrics;   // batched
    std::function<void(const Progress&)> progress;                  // at most every ~100 ms
    // Timeline events: "checkpoint" (detail: path), "paused", "resumed", "epoch" (detail: n).
    std::function<void(const std::string& kind, const std::string& detail)> event;
};

struct TrainOptions {
    std::string checkpointPath;        // write model + optimizer + step here; empty = no checkpoints
    int64_t checkpointEverySteps = 0;  // also every N steps; 0 = at epoch ends only
    double checkpointMinSeconds = 30;  // skip an epoch-end checkpoint younger than this (the
                                       // first, the last and one on cancel are always written)
    std::string resumeFrom;            // continue from this checkpoint file
    double reportInterval = 0.1;       // seconds between metric/progress callbacks
};

enum class TrainStatus { Finished, Cancelled, Failed };

struct TrainResult {
    TrainStatus status = TrainStatus::Failed;
    std::string message;                           // why it failed
    int64_t steps = 0;
    double seconds = 0.0;                          // wall time of the whole call
    double samplesPerSec = 0.0;                    // mean training throughput of this call's steps
                                                   // (evaluation, tuning and checkpoints excluded)
    std::map<std::string, double> finalMetrics;    // last value of each tag
};

// Trains the experiment on the loaded data. Never throws: LibTorch errors, NaN losses and
// bad data end the run as Failed with a message.
TrainResult train(const ExperimentSpec& spec, const DataBundle& data, TrainControl& control,
                  const TrainCallbacks& callbacks, const TrainOptions& options = {});

const char* toString(TrainStatus status);

} // namespace nnlab

namespace nnlab {

// Builds the model in LibTorch and runs one sample through it: what the network really is,
// for tests and for checking shape inference against LibTorch itself.
struct BuiltModel {
    std::vector<std::string> parameterNames;   // "0.weight", "3.body.0.weight", ...
    int64_t parameters = 0;
    std::vector<int64_t> outputShape;          // per sample, without the batch dimension
};
BuiltModel buildAndProbe(const ModelSpec& model);   // throws std::invalid_argument on a bad spec

} // namespace nnlab
