// The run store: every run, its experiment, every metric point, events and artifacts in one
// SQLite file. No Qt and no LibTorch types; errors are values and nothing throws.
//
// Guarantees, and how they are kept:
// - Crash safety: SQLite in WAL mode with synchronous=FULL; the recorder (run_recorder.h)
//   commits one transaction per flush, so a killed process loses at most its last ~0.5 s.
// - A run left `running` by a dead process reads as `interrupted`. Each run stores its
//   owner's host, pid and a token (Linux boot id + the process start time). The owner is
//   dead when the host is this host and the boot id changed, the pid is gone, or the pid
//   now belongs to a process started at another time (pid reuse). Runs owned by other
//   hosts are left as they are. A writable open records the change; every query reports it.
// - Bad files are never modified: a file is written only after it is known to be an nnlab
//   store (PRAGMA application_id) of a schema version this build knows, or an empty file.
// - Metrics are stored at full resolution in chunks of up to 1024 points per row (see
//   engine/src/store/chunks.h), which is what makes 500k points/s logging and a
//   1M-point downsampled read in a few milliseconds possible.
#pragma once

#include "nnlab/run_types.h"
#include "nnlab/snapshot.h"

#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace nnlab {

enum class StoreErrorCode {
    None,
    NotFound,          // the database file does not exist (read-only open)
    NotRunDatabase,    // not SQLite, or SQLite but not an nnlab store
    TooNew,            // schema version newer than this build knows
    TooOld,            // read-only open of a store that needs a migration first
    ReadOnly,          // the file or its folder is read-only, or the store was opened read-only
    Locked,            // another process held the write lock past the busy timeout
    Corrupt,
    Io,                // any other I/O or SQLite failure
    NoSuchRun,
    AmbiguousRun,      // an id prefix that matches several runs
    InvalidArgument,
    WrongState,        // e.g. resuming a finished run, deleting a running one
};

// An error as a value. The message is complete and names the file:
// "/home/me/.local/share/nnlab/runs.db: database is locked by another process (waited 5 s)".
struct StoreError {
    StoreErrorCode code = StoreErrorCode::None;
    std::string message;

    bool ok() const { return code == StoreErrorCode::None; }
};

template <typename T>
struct StoreResult {
    T value{};
    StoreError error;

    bool ok() const { return error.ok(); }
};

// Direction of a metric tag, from its last path component: +1 higher is better (accuracy,
// precision, recall, f1, auc, iou), -1 lower is better (loss, error, mse, mae, nll,
// perplexity), 0 unknown (lr, grad_norm...): such tags have no "best" value.
int metricDirection(const std::string& tag);

// $NNLAB_DB if set, else $XDG_DATA_HOME/nnlab/runs.db, else ~/.local/share/nnlab/runs.db.
// The folder is created when the store is opened for writing. A path given on the command
// line (--db) is used instead of this: the flag beats the environment.
std::string defaultDatabasePath();

// A run's checkpoints, beside its store: the latest state, and the best one by the run's
// chosen validation metric.
enum class CheckpointKind { Latest, Best };

// <store folder>/checkpoints/<run id>.pt (Latest) or <run id>.best.pt (Best). Creates the
// checkpoints folder, so the trainer can write there. No LibTorch: the store deletes these.
std::string checkpointPathFor(const std::string& databasePath, const std::string& runId,
                              CheckpointKind kind);

// Summary of one metric series of a run; kept up to date at every flush.
struct MetricSummary {
    int64_t count = 0;          // points stored
    int64_t firstStep = 0;
    int64_t lastStep = 0;
    double finalValue = std::numeric_limits<double>::quiet_NaN();   // value at lastStep
    double bestValue = std::numeric_limits<double>::quiet_NaN();    // NaN when direction is 0
    int64_t bestStep = -1;
    double minValue = std::numeric_limits<double>::quiet_NaN();     // NaN values are skipped
    double maxValue = std::numeric_limits<double>::quiet_NaN();
};

// What a run list shows. Times are seconds since the Unix epoch, 0 when not (yet) set.
struct RunSummary {
    std::string id;               // "20250114-093012-3fa9c2d1e5b7": UTC start + 48 random bits
    std::string name;
    RunStatus status = RunStatus::Running;
    std::string parentId;         // the run this one was derived from (pruned, distilled...); empty = none
    std::string dataset;          // the experiment's data.source
    int64_t parameters = 0;       // trainable parameters, 0 until the trainer reported them
    double createdAt = 0.0;       // run recorded (before data loading)
    double startedAt = 0.0;       // first training step about to run
    double endedAt = 0.0;         // finished, failed, cancelled, or the last flush of an interrupted run
    double updatedAt = 0.0;       // the last flush: a heartbeat
    double duration = 0.0;        // seconds of training over all segments (resumes add up)
    int64_t lastStep = 0;         // highest step of any metric stored
    std::vector<std::string> tags;   // user tags, sorted
    std::string notes;
    std::string message;          // why it failed
    std::map<std::string, MetricSummary> metrics;   // by metric tag
};

// Everything about one run.
struct RunDetails : RunSummary {
    std::string experimentJson;   // the experiment as trained (after --set overrides)
    std::string experimentHash;   // "xxh64:<16 hex>" of the canonical (sorted, compact) JSON
    uint64_t seed = 0;
    std::string device;
    int64_t threads = 0;
    std::string torchVersion;
    std::string nnlabVersion;
    std::string host;
    int64_t pid = 0;
    std::string infoJson;         // trainer details: threadChoice, stepsPerEpoch, totalSteps, ...
};

// Timeline: checkpoints, pauses, epochs, what hooks did.
struct RunEvent {
    int64_t id = 0;
    double time = 0.0;
    int64_t step = -1;            // the last metric step seen when it happened; -1 = none yet
    EventKind kind = EventKind::Note;   // a kind this build does not know reads as Note
    std::string detail;
};

struct RunArtifact {
    int64_t id = 0;
    double time = 0.0;
    int64_t step = -1;
    std::string kind;             // "checkpoint", "model", ...
    std::string path;             // absolute
    int64_t size = 0;             // bytes when recorded
    std::string hash;             // "xxh64:<16 hex>" of the contents when recorded
};

struct SeriesPoint {
    int64_t step = 0;
    double wallTime = 0.0;
    double value = 0.0;
};

// One bucket of a downsampled series. first/last/min/max are real points with their
// steps, so a single spike always survives as some bucket's min or max.
struct SeriesBucket {
    int64_t count = 0;
    SeriesPoint first;
    SeriesPoint last;
    SeriesPoint min;              // NaN points are skipped; count still includes them
    SeriesPoint max;
};

struct RunFilter {
    std::optional<RunStatus> status;
    std::string nameGlob;         // SQLite GLOB: * ? [abc], case sensitive; empty = all
    // "created" (default: newest first), "name", "duration" (longest first), "status", or a
    // metric tag: best value first (by the tag's direction; final value when unknown),
    // runs without it last.
    std::string sortBy;
    bool reverse = false;
    int limit = 0;                // 0 = no limit
    // The metric summaries read into RunSummary::metrics: nullopt reads every one, a list
    // only those tags (and sortBy's, when it is a metric). A table that shows one metric of
    // 10,000 runs then reads 10,000 summaries instead of every series the runs have.
    std::optional<std::vector<std::string>> metrics;
};

// What RunStore::deleteRun removes besides the run's records.
enum class DeleteFiles {
    None,          // the records only
    // Also the run's checkpoint files: its latest and best checkpoints, and every checkpoint
    // artifact it recorded, but only files inside the store's checkpoints folder, and none
    // that another run records as its artifact too.
    Checkpoints,
};

struct DeleteReport {
    std::string id;                        // the run's full id; empty when it was not deleted
    std::vector<std::string> removedFiles; // absolute paths
};

struct ImportReport {
    std::vector<std::string> imported;
    std::vector<std::string> alreadyPresent;   // same id already here: skipped
    std::vector<std::string> stillRunning;     // running in the other store: skipped, import again later
};

struct StoreOptions {
    bool readOnly = false;        // never write: browse a read-only file or folder
    int busyTimeoutMs = 5000;     // wait this long for another process's write lock
};

constexpr int kStoreSchemaVersion = 3;   // 3: snapshots

// A connection for browsing and editing. All calls are serialized by an internal mutex, so
// one store may be shared between threads. Run ids may be given as a unique prefix.
class RunStore {
public:
    static StoreResult<std::unique_ptr<RunStore>> open(const std::string& path,
                                                       const StoreOptions& options = {});
    ~RunStore();
    RunStore(const RunStore&) = delete;
    RunStore& operator=(const RunStore&) = delete;

    const std::string& path() const;
    bool isReadOnly() const;

    StoreResult<std::string> resolveRunId(const std::string& idOrPrefix) const;
    StoreResult<std::vector<RunSummary>> listRuns(const RunFilter& filter = {}) const;
    StoreResult<RunDetails> getRun(const std::string& id) const;
    StoreResult<std::vector<RunEvent>> events(const std::string& id) const;
    StoreResult<std::vector<RunArtifact>> artifacts(const std::string& id) const;
    StoreResult<std::vector<std::string>> metricTags(const std::string& id) const;

    // Every point of a series in a step range, in step order.
    StoreResult<std::vector<SeriesPoint>> series(
        const std::string& id, const std::string& tag,
        int64_t stepMin = std::numeric_limits<int64_t>::min(),
        int64_t stepMax = std::numeric_limits<int64_t>::max()) const;
    // At most `buckets` equal-width step buckets over [stepMin, stepMax] (clamped to the
    // series), empty buckets left out. For plots: one call per zoom.
    StoreResult<std::vector<SeriesBucket>> seriesDownsampled(
        const std::string& id, const std::string& tag, int64_t stepMin, int64_t stepMax,
        int buckets) const;
    // Recorded snapshots (snapshot.h) of one kind and name ("" = every name of the kind), in
    // step order, then name order, within [stepMin, stepMax].
    StoreResult<std::vector<Snapshot>> snapshots(
        const std::string& id, SnapshotKind kind, const std::string& name = {},
        int64_t stepMin = std::numeric_limits<int64_t>::min(),
        int64_t stepMax = std::numeric_limits<int64_t>::max()) const;
    // The steps that have a snapshot of this kind and name ("" = any name), ascending: for a
    // slider that scrubs through them without loading every grid.
    StoreResult<std::vector<int64_t>> snapshotSteps(const std::string& id, SnapshotKind kind,
                                                    const std::string& name = {}) const;
    // The distinct names recorded for a kind (layer paths of histograms), sorted.
    StoreResult<std::vector<std::string>> snapshotNames(const std::string& id, SnapshotKind kind) const;

    StoreError rename(const std::string& id, const std::string& name);
    StoreError setNotes(const std::string& id, const std::string& notes);
    StoreError setTags(const std::string& id, const std::vector<std::string>& tags);
    // Deletes the run with its metrics, events and artifact records, and with
    // DeleteFiles::Checkpoints its checkpoint files. A run still running in a live process is
    // refused. Files go after the records are committed; a file that cannot be removed is
    // the error (Io, naming it), the run being deleted already.
    StoreResult<DeleteReport> deleteRun(const std::string& id, DeleteFiles files = DeleteFiles::None);

    // Merges runs from another store (another machine, a Slurm array job), each in its own
    // transaction. The other file is opened read-only and never changed.
    StoreResult<ImportReport> importFrom(const std::string& otherPath);

    struct Impl;
private:
    explicit RunStore(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> m_impl;
};

} // namespace nnlab
