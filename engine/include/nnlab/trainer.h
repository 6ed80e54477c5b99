// Training: a loop over epochs of shuffled mini-batches that knows nothing of Qt or storage.
// It reports through callbacks and checks a TrainControl once per batch.
#pragma once

#include "nnlab/data.h"
#include "nnlab/distributed.h"
#include "nnlab/experiment.h"
#include "nnlab/run_types.h"
#include "nnlab/snapshot.h"
#include "nnlab/spec.h"

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace nnlab {

// Pause, resume and cancel from any thread; the trainer looks once per batch.
class TrainControl {
public:
    TrainControl() = default;
    // Waits for a resume() or cancel() of another thread to finish waking: the trainer may see
    // the cancellation (an atomic) and its owner destroy this while cancel() still signals.
    ~TrainControl();
    TrainControl(const TrainControl&) = delete;
    TrainControl& operator=(const TrainControl&) = delete;
    void pause();
    void resume();
    void cancel();                          // also wakes a paused trainer
    void cancelFromSignal() { m_cancelled.store(true); }   // async-signal-safe; no wake-up
    bool isPaused() const { return m_paused.load(); }
    bool isCancelled() const { return m_cancelled.load(); }
    // Called by the trainer once per batch: blocks while paused; false when cancelled.
    bool waitWhilePaused();

private:
    std::atomic<bool> m_paused{false};
    std::atomic<bool> m_cancelled{false};
    std::mutex m_mutex;
    std::condition_variable m_wake;
};

struct TrainCallbacks {
    std::function<void(const TrainInfo&)> started;
    std::function<void(const std::vector<MetricPoint>&)> metrics;   // batched
    // spec.inspect's snapshots (decision boundaries, histograms, confusion matrices), batched
    // and delivered with the metrics (just after them), on the training thread.
    std::function<void(const std::vector<Snapshot>&)> snapshots;
    std::function<void(const Progress&)> progress;                  // at most every ~100 ms
    // Timeline events (run_types.h says what each detail holds).
    // `step`: the optimizer steps taken when it happened (after a rollback, the checkpoint's).
    std::function<void(EventKind kind, int64_t step, const std::string& detail)> event;
};

namespace detail {
class TrainHook;   // engine/src/train/train_hooks.h: the loop's hook points (LibTorch types)
}

struct TrainOptions {
    std::string checkpointPath;        // the latest checkpoint (model, optimizer, step); empty = none.
                                       // When: training.checkpoint_every_steps / _every_seconds
    std::string bestCheckpointPath;    // the best by training.best_metric; empty = none
    std::string resumeFrom;            // continue from this checkpoint file
    // Start from these weights instead of the seeded initialization: a safetensors file from
    // `nnlab-cli export` (fine-tuning). Every parameter and buffer must be there with its
    // shape; a mismatch fails the run naming the tensor. A resume ignores it.
    std::string initWeights;
    // Data-parallel training: this process's rank among the workers (nnlab/distributed.h).
    // Inactive (one worker) by default.
    DistributedSetup distributed;
    double reportInterval = 0.1;       // seconds between metric/progress callbacks
    // Engine features attached to the loop (monitors, layer statistics, ...); they run in
    // this order on the training thread, after the window statistics, before checkpoints.
    std::vector<std::shared_ptr<detail::TrainHook>> hooks;
};

// Trains a prepared experiment on its loaded data (fitToData first, or train does it). Never
// throws: LibTorch errors and bad data end the run as Failed with a message, and so does a
// non-finite loss under the default monitor rule (spec.h defaultMonitors).
TrainResult train(const PreparedExperiment& experiment, const DataBundle& data, TrainControl& control,
                  const TrainCallbacks& callbacks, const TrainOptions& options = {});

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
