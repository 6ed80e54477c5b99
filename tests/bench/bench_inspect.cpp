// bench_inspect: what "Inside the network" (spec.inspect) costs a training run. Each experiment
// trains with inspection off and with the given settings, interleaved, `--reps` times each,
// recorded into a fresh run store as the GUI and CLI do (snapshots and metrics committed by the
// store's writer thread). Prints medians: the train() call (setup, steps, evaluations; what
// "training speed" means here) as seconds and steps/s, and the whole session (data loading,
// store) beside it, with the overhead against "off"; and, from within each run (so that the
// load of a shared machine cancels), the inspect hook's own time (metric inspect/seconds) as a
// share of the rest of train(). The store's writer thread is not in it.
//
//   bench_inspect [--reps N] [--fashion-reps N] [--spiral-threads T] [--fashion-threads T]
//
// Threads are fixed so that the thread tuner's measuring is not part of the comparison: 1 for
// both by default: on a machine busy with other work (builds), 2 threads are many times
// slower and far noisier, inspection or not, as OpenMP regions wait for a descheduled thread.
#include "nnlab/experiment.h"
#include "nnlab/run_session.h"
#include "nnlab/spec_json.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

using namespace nnlab;

namespace {

struct Config {
    std::string label;
    std::vector<std::string> overrides;
};

struct Sample {
    double loop = 0.0, whole = 0.0;
    double inspect = 0.0;   // the hook's own time in the run (metric inspect/seconds)
    int64_t steps = 0;
};

double median(std::vector<double> v)
{
    std::sort(v.begin(), v.end());
    return v.empty() ? 0.0 : v[v.size() / 2];
}

Sample trainOnce(const std::string& file, const std::vector<std::string>& overrides, const std::string& db)
{
    const ParseResult parsed = loadExperimentFile(file, overrides);
    if (!parsed.ok()) {
        std::fprintf(stderr, "%s", parsed.errorText().c_str());
        std::exit(2);
    }
    const Preparation p = prepareExperiment(parsed);
    TrainControl control;
    RunSessionOptions options;
    options.databasePath = db;
    const auto start = std::chrono::steady_clock::now();
    const RunSessionResult run = runTrainingSession(p.experiment, control, options);
    Sample s;
    s.whole = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (run.result.status != TrainStatus::Finished) {
        std::fprintf(stderr, "%s: %s\n", file.c_str(), run.result.message.c_str());
        std::exit(2);
    }
    s.loop = run.result.seconds;
    if (const auto it = run.result.finalMetrics.find("inspect/seconds"); it != run.result.finalMetrics.end())
        s.inspect = it->second;
    s.steps = run.result.steps;
    return s;
}

void bench(const std::string& name, const std::string& file, const std::vector<Config>& configs, int reps,
           const std::string& threads, const std::string& folder)
{
    std::vector<std::vector<Sample>> samples(configs.size());
    for (int r = 0; r < reps; ++r)
        for (size_t c = 0; c < configs.size(); ++c) {   // interleaved: load drifts hit every config alike
            std::vector<std::string> o = configs[c].overrides;
            o.push_back("training.threads=" + threads);
            const std::string db = folder + "/" + name + "-" + std::to_string(c) + "-" + std::to_string(r) + ".db";
            samples[c].push_back(trainOnce(file, o, db));
            std::fprintf(stderr, ".");
        }
    std::fprintf(stderr, "\n");
    std::printf("\n%s (%s), %d runs each, %s threads, medians\n", name.c_str(), file.c_str(), reps, threads.c_str());
    std::printf("%-40s %10s %10s %9s %10s %9s %10s %9s\n", "inspect", "train() s", "steps/s", "vs off", "session s",
                "vs off", "hook s", "hook %");
    double baseLoop = 0, baseWhole = 0;
    for (size_t c = 0; c < configs.size(); ++c) {
        std::vector<double> loop, whole, share, hook;
        for (const Sample& s : samples[c]) {
            loop.push_back(s.loop);
            whole.push_back(s.whole);
            hook.push_back(s.inspect);
            // Within the same run, so machine load cancels: the hook's time over the rest.
            share.push_back(s.inspect / std::max(1e-9, s.loop - s.inspect));
        }
        const double l = median(loop), w = median(whole);
        if (c == 0) {
            baseLoop = l;
            baseWhole = w;
        }
        std::printf("%-40s %10.2f %10.0f %8.1f%% %10.2f %8.1f%% %10.3f %8.2f%%\n", configs[c].label.c_str(), l,
                    static_cast<double>(samples[c][0].steps) / l, 100.0 * (l / baseLoop - 1.0), w,
                    100.0 * (w / baseWhole - 1.0), median(hook), 100.0 * median(share));
    }
}

} // namespace

int main(int argc, char** argv)
{
    int reps = 5, fashionReps = 3;
    std::string spiralThreads = "1", fashionThreads = "1";
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--help" || a == "-h") {
            std::printf("bench_inspect [--reps N] [--fashion-reps N] [--spiral-threads T] [--fashion-threads T]\n");
            return 0;
        }
        const bool known = a == "--reps" || a == "--fashion-reps" || a == "--spiral-threads" || a == "--fashion-threads";
        if (!known || i + 1 >= argc) {
            std::fprintf(stderr, "bench_inspect: %s '%s' (try --help)\n", known ? "no value after" : "unknown argument",
                         a.c_str());
            return 2;
        }
        ++i;
    }
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string a = argv[i];
        if (a == "--reps")
            reps = std::atoi(argv[i + 1]);
        else if (a == "--fashion-reps")
            fashionReps = std::atoi(argv[i + 1]);
        else if (a == "--spiral-threads")
            spiralThreads = argv[i + 1];
        else if (a == "--fashion-threads")
            fashionThreads = argv[i + 1];
    }
    const std::string folder = (std::filesystem::temp_directory_path() / "nnlab-bench-inspect").string();
    std::filesystem::remove_all(folder);
    std::filesystem::create_directories(folder);
    const std::string off = R"(inspect={"layer_stats_every_steps": 0, "histograms_every_steps": 0, "boundary_every_steps": 0, "confusion_matrix": false})";
    const std::string dir = NNLAB_SOURCE_DIR "/resources/experiments/";

    bench("spiral-mlp", dir + "spiral-mlp.json",
          {{"off", {off}},
           {"defaults (boundary 100 at 32, stats 100)", {}},
           {"boundary every 50 at 32", {off, "inspect.boundary_every_steps=50"}},
           {"boundary every 20 at 40", {off, "inspect.boundary_every_steps=20", "inspect.boundary_resolution=40"}},
           {"boundary every 5 at 32", {off, "inspect.boundary_every_steps=5"}},
           {"layer stats every 10", {off, "inspect.layer_stats_every_steps=10"}}},
          reps, spiralThreads, folder);
    if (fashionReps > 0)
        bench("fashion-cnn", dir + "fashion-cnn.json",
              {{"off", {off}}, {"defaults (stats 100, hist 100, cm)", {}},
               {"layer stats every 10", {off, "inspect.layer_stats_every_steps=10"}}},
              fashionReps, fashionThreads, folder);
    std::filesystem::remove_all(folder);
    return 0;
}
