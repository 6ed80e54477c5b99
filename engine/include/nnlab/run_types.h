// What a training run reports, as plain values with no LibTorch or Qt types: the trainer
// produces them, the run store records them and the GUI shows them. Enums cross every
// boundary; their text forms exist only where they are written to a file or a terminal.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

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
    std::string interfaceJson;   // the model's raw-input interface (nnlab/model_interface.h), as JSON
    int64_t workers = 1;         // data-parallel processes training the run
};

// How one call of the trainer ended.
enum class TrainStatus { Finished, Cancelled, Failed };
const char* toString(TrainStatus status);   // "finished", "cancelled", "failed"

// A run's status in the store: a trainer's outcome, or still running, or left running by
// a process that died.
enum class RunStatus { Running, Finished, Failed, Cancelled, Interrupted };
const char* toString(RunStatus status);     // "running", "finished", ...
std::optional<RunStatus> runStatusFromString(const std::string& text);
RunStatus runStatusOf(TrainStatus status);

// Timeline events of a run. The detail text says more (a path, a step, a message).
enum class EventKind {
    Checkpoint,       // the latest checkpoint was written; detail: its path
    BestCheckpoint,   // a new best checkpoint; detail: its path
    Paused,           // detail: "step N"
    Resumed,          // detail: "step N"
    Epoch,            // an epoch ended; detail: its 1-based number
    Threads,          // the thread guard changed the thread count; detail: why
    LearningRate,     // a hook changed the learning rate; detail: "x0.5 -> 0.0005"
    Rollback,         // a hook rolled back to a checkpoint; detail: which step
    Stop,             // a hook stopped the run; detail: why
    Interrupted,      // the store found the run's process dead
    Alert,            // a monitor rule fired; detail: compact JSON {"rule", "metric", "step", "value",
                      // "threshold", "action", "message"} (monitor_alert.h reads and writes it)
    Note,             // anything else a hook wants on the timeline
};
const char* toString(EventKind kind);       // "checkpoint", "best_checkpoint", "paused", ...
std::optional<EventKind> eventKindFromString(const std::string& text);

struct TrainResult {
    TrainStatus status = TrainStatus::Failed;
    std::string message;                           // why it failed or stopped early
    int64_t steps = 0;
    double seconds = 0.0;                          // wall time of the whole call
    double samplesPerSec = 0.0;                    // mean training throughput of this call's steps
                                                   // (evaluation, tuning and checkpoints excluded)
    std::map<std::string, double> finalMetrics;    // last value of each tag
    // A data-parallel worker stopped (died, or lost its connection): the run is recorded as
    // interrupted, to resume from its last checkpoint, rather than failed.
    bool workerLost = false;
};

} // namespace nnlab
