// Records one training run into the run store while it trains. The trainer's callbacks call
// it from the training thread; a single writer thread owns the writes and commits everything
// queued (metrics, events, artifacts, status) as one transaction per flush, at least every
// `flushInterval`; a recorded artifact (a checkpoint) is committed at once. Calls never wait
// for the database, except begin, resume, flush and finish; addArtifact reads the file.
#pragma once

#include "nnlab/spec.h"
#include "nnlab/store.h"
#include "nnlab/run_types.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace nnlab {

struct RecorderOptions {
    double flushInterval = 0.5;   // seconds between commits while data arrives, > 0
    int busyTimeoutMs = 5000;     // wait this long for another process's write lock
};

// What is known about a run before training starts; the rest comes with updateInfo.
struct RunStartInfo {
    std::string name;             // empty = the experiment's name
    std::string parentId;         // the run this one derives from; empty = none
    std::vector<std::string> tags;
    std::string notes;
    std::string torchVersion;     // TORCH_VERSION of the LibTorch the trainer links
    std::string device;           // may stay empty until updateInfo
    int64_t threads = 0;
    int64_t parameters = 0;
};

// Where a resumed run continues from.
struct ResumePoint {
    std::string runId;
    std::string experimentJson;
    std::string checkpointPath;   // the last checkpoint artifact
    int64_t checkpointStep = -1;  // its recorded step
    // The file's hash differs from the recorded one: a later checkpoint overwrote it (the
    // process died before recording it). It is still the newest state, so it is used.
    bool checkpointChanged = false;
};

class RunRecorder {
public:
    // Opens (creating if needed) the store for writing. Fails on bad, read-only or locked files.
    static StoreResult<std::unique_ptr<RunRecorder>> open(const std::string& path,
                                                          const RecorderOptions& options = {});
    // Flushes what is queued. A run begun and not finished is marked `interrupted`.
    ~RunRecorder();
    RunRecorder(const RunRecorder&) = delete;
    RunRecorder& operator=(const RunRecorder&) = delete;

    // Records a new run (status running) and starts the writer. One run per recorder.
    StoreResult<std::string> begin(const ExperimentSpec& spec, const std::string& experimentJson,
                                   const RunStartInfo& info = {});
    // Continues an interrupted, cancelled or failed run as the same run: status back to
    // running, a "resumed" event. Fails when the run finished, still runs elsewhere, or has
    // no checkpoint whose file still exists. Metric points the continuation logs again
    // replace the old ones from their step on, per series (TensorBoard purges orphans the
    // same way).
    StoreResult<ResumePoint> resume(const std::string& runId);

    // From the trainer's `started` callback: device, threads, parameters, steps; sets the
    // run's started time.
    void updateInfo(const TrainInfo& info);
    void addMetrics(const std::vector<MetricPoint>& points);
    // Snapshots (snapshot.h), queued like metrics and committed in the same transaction. A
    // resumed run's snapshots from a replayed step on replace the old ones, as metrics do.
    void addSnapshots(const std::vector<Snapshot>& snapshots);
    // step -1 = the last metric step seen.
    void addEvent(EventKind kind, const std::string& detail = {}, int64_t step = -1);
    // Records a file: size and hash (XXH64 of its contents, read once now on the calling
    // thread, since a checkpoint path is often overwritten later). step -1 = the last
    // metric step seen.
    StoreError addArtifact(const std::string& path, const std::string& kind, int64_t step = -1);
    // Final status, end time and message; metrics only in result.finalMetrics are added as
    // points at result.steps. Waits for everything to be committed.
    StoreError finish(const TrainResult& result);
    // Waits until everything queued so far is committed.
    StoreError flush();

    const std::string& runId() const;
    const std::string& path() const;
    // The highest metric step committed so far, -1 before the first commit. The crash test
    // relies on it: every point up to this step survives a SIGKILL.
    int64_t committedStep() const;
    // The last commit failure (disk full, lock timeout); the data stays queued and is
    // retried at the next flush. ok() when the last commit succeeded.
    StoreError lastError() const;

    struct Impl;
private:
    explicit RunRecorder(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> m_impl;
};

} // namespace nnlab
