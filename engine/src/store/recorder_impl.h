// RunRecorder internals: the queue the trainer fills and the writer thread drains.
#pragma once

#include "chunks.h"
#include "sqlite_util.h"

#include "nnlab/run_recorder.h"

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace nnlab {

namespace store {

// Everything queued since the last commit; committed as one transaction.
struct Batch {
    struct Info {
        TrainInfo info;
        double time = 0.0;
    };
    struct Finish {
        RunStatus status = RunStatus::Finished;
        std::string message;
        std::map<std::string, double> finalMetrics;
        int64_t steps = 0;
        double time = 0.0;
    };

    std::vector<MetricPoint> points;
    std::vector<RunEvent> events;
    std::vector<RunArtifact> artifacts;
    std::vector<Snapshot> snapshots;
    std::optional<Info> info;
    std::optional<Finish> finish;
    uint64_t sequence = 0;            // the last enqueue this batch holds

    bool empty() const;
    // Puts `later` after this batch's contents (a failed commit goes back in front).
    void append(Batch&& later);
};

} // namespace store

struct RunRecorder::Impl {
    std::unique_ptr<store::Connection> db;
    RecorderOptions options;

    // The connection: begin and resume use it on the caller's thread, commits on the writer's.
    std::mutex dbMutex;
    std::string runId;
    int64_t runSeq = 0;
    double baseDuration = 0.0;        // training seconds of earlier segments (resumes)
    double segmentStart = 0.0;        // when this segment's training began
    bool segmentStarted = false;      // the trainer reported TrainInfo in this segment
    double lastCommitTime = 0.0;
    std::map<std::string, store::SeriesState> series;   // writer-owned

    std::mutex queueMutex;
    std::condition_variable wake;          // the writer waits here
    std::condition_variable committedCv;   // flush() waits here
    store::Batch pending;
    uint64_t enqueued = 0;
    uint64_t committed = 0;           // sequence of the last committed batch
    uint64_t attempted = 0;           // sequence of the last batch tried, committed or not
    bool flushRequested = false;
    bool stop = false;
    bool begun = false;
    bool finishQueued = false;
    StoreError lastError;
    std::thread writer;

    std::atomic<int64_t> lastStep{-1};        // highest step added
    std::atomic<int64_t> committedStep{-1};   // highest step committed

    void startWriter();
    void writerLoop();
    StoreError commit(const store::Batch& batch);
    // Queues under queueMutex; `fill` adds to the pending batch.
    template <typename Fill>
    void enqueue(Fill fill);
    StoreError waitForCommit();
};

} // namespace nnlab
