// bench_speed: nnlab's training throughput side by side with PyTorch's Python front end.
// The parent process prepares each job's data, then runs nnlab and the Python peer as child
// processes, alternating, and prints one table; see tests/bench/README.md.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace bench {

using Json = nlohmann::json;

// A child's result: the last line of its output that starts with this tag, parsed as JSON.
// The same contract holds for the companion programs (bench_gui, bench_charts, bench_store).
inline constexpr const char* kJsonTag = "BENCH_JSON ";

struct ProcessResult {
    int exitCode = -1;
    std::string output;   // stdout (and stderr with captureStderr); else stderr goes to ours
    Json json;            // the BENCH_JSON line, or null
    double seconds = 0.0; // wall time from fork to the child's exit: what a user waits for
};
// Runs argv[0] with its arguments (no shell), capturing stdout. `extraEnv` "K=V" strings
// are set in the child only.
ProcessResult runProcess(const std::vector<std::string>& argv, const std::vector<std::string>& extraEnv = {},
                         bool captureStderr = false);

// One benchmark job: an experiment of resources/experiments with the benchmark's overrides.
struct Job {
    std::string key;          // "spiral", "cnn", "resnet"
    std::string file;         // resources/experiments/<file>
    std::string label;        // for the table
    std::vector<std::string> overrides;   // --set style, applied on top of the file
};
std::vector<Job> allJobs(bool quick);
// The model zoo (--zoo): eight architectures nobody tuned nnlab for, on Fashion-MNIST and on
// CIFAR-format and CSV files generated into `dataDir` (kept there between runs).
std::vector<Job> zooJobs(bool quick, const std::string& dataDir);

// Writes everything the peer needs into `folder` (data arrays, layer tree, lr per step,
// the experiment); returns facts about the job for the report.
struct PreparedJob {
    Job job;
    std::string folder;
    std::string specFile;         // the experiment with overrides, as nnlab reads it
    int64_t trainSamples = 0;
    int64_t epochs = 0;
    int64_t macsPerSample = 0;    // forward multiply-accumulates (inspectModel)
    int64_t parameters = 0;
    std::string description;      // the data's one-line description
    Json convShapes;              // distinct conv2d shapes, for the peak micro-benchmark
};
PreparedJob prepareJob(const Job& job, const std::string& workDir);

// The tuner's own time from a thread choice or an `nnlab-cli train` output ("...; tuning
// 0.620 s"); 0 when it says none (a fixed thread count without convolutions measures nothing).
double tuningSecondsOf(const std::string& text);

// Child mode: trains the experiment file with training.threads = `threads` (0: nnlab's tuner
// picks) through runTrainingSession, what `nnlab-cli train --no-store` does, and prints
// BENCH_JSON. Returns the exit code.
int runNnlabChild(const std::string& specFile, int threads);

// Matrix-product and convolution micro-benchmarks (forward + backward for the jobs' conv
// shapes), GFLOP/s at each thread count; the machine's peak is the best of them.
Json measurePeak(const std::vector<int>& threadCounts, const Json& convShapes, double secondsPerCase);

// Runs bench_gui, bench_charts and bench_store when they are in `folder`; their figures by name.
Json runCompanions(const std::string& folder);

// The targets of a finished report (targets.cpp), each {"what", "kind", "value", "unit",
// "target", "pass"}: kind "speed" (ratios, share of peak: the targets) or "sanity"
// (runs finished, accuracies, the tuning cache on a second start), which hold however loaded
// the machine is. pass is null when the figure was not measured in this run (no peer).
Json buildTargets(const Json& report);

// Figures the table needs that the report lacks ("cnn threads auto: nnlab process_seconds"):
// a broken measurement, not a slow one.
std::vector<std::string> missingFigures(const Json& report);

// The table on stdout.
void printTable(const Json& report);

} // namespace bench
