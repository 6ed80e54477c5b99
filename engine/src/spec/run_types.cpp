#include "nnlab/run_types.h"

namespace nnlab {

const char* toString(TrainStatus status)
{
    switch (status) {
    case TrainStatus::Finished: return "finished";
    case TrainStatus::Cancelled: return "cancelled";
    case TrainStatus::Failed: return "failed";
    }
    return "failed";
}

const char* toString(RunStatus status)
{
    switch (status) {
    case RunStatus::Running: return "running";
    case RunStatus::Finished: return "finished";
    case RunStatus::Failed: return "failed";
    case RunStatus::Cancelled: return "cancelled";
    case RunStatus::Interrupted: return "interrupted";
    }
    return "unknown";
}

std::optional<RunStatus> runStatusFromString(const std::string& text)
{
    for (RunStatus status : {RunStatus::Running, RunStatus::Finished, RunStatus::Failed,
                             RunStatus::Cancelled, RunStatus::Interrupted}) {
        if (text == toString(status))
            return status;
    }
    return std::nullopt;
}

RunStatus runStatusOf(TrainStatus status)
{
    switch (status) {
    case TrainStatus::Finished: return RunStatus::Finished;
    case TrainStatus::Cancelled: return RunStatus::Cancelled;
    case TrainStatus::Failed: return RunStatus::Failed;
    }
    return RunStatus::Failed;
}

const char* toString(EventKind kind)
{
    switch (kind) {
    case EventKind::Checkpoint: return "checkpoint";
    case EventKind::BestCheckpoint: return "best_checkpoint";
    case EventKind::Paused: return "paused";
    case EventKind::Resumed: return "resumed";
    case EventKind::Epoch: return "epoch";
    case EventKind::Threads: return "threads";
    case EventKind::LearningRate: return "lr";
    case EventKind::Rollback: return "rollback";
    case EventKind::Stop: return "stop";
    case EventKind::Interrupted: return "interrupted";
    case EventKind::Alert: return "alert";
    case EventKind::Note: return "note";
    }
    return "note";
}

std::optional<EventKind> eventKindFromString(const std::string& text)
{
    for (EventKind kind : {EventKind::Checkpoint, EventKind::BestCheckpoint, EventKind::Paused, EventKind::Resumed,
                           EventKind::Epoch, EventKind::Threads, EventKind::LearningRate, EventKind::Rollback,
                           EventKind::Stop, EventKind::Interrupted, EventKind::Alert, EventKind::Note}) {
        if (text == toString(kind))
            return kind;
    }
    return std::nullopt;
}

} // namespace nnlab
