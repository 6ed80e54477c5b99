// bench_serve: trains a small CNN on Fashion-MNIST into a temporary store, serves it in-process
// on loopback and drives it with N concurrent keep-alive clients, each sending one raw test
// image per request. Prints requests/s, samples/s, p50/p99 latency (client side) and the mean
// batch size, for batch-1 serving (max batch 1) against dynamic batching (max batch 64, 5 ms).
// Usage: bench_serve [seconds per row, default 4]
#include "nnlab/data.h"
#include "nnlab/experiment.h"
#include "nnlab/run_session.h"
#include "nnlab/serve.h"
#include "nnlab/spec_json.h"
#include "nnlab/store.h"
#include "nnlab/trained_model.h"

#include <httplib.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <thread>
#include <unistd.h>

using namespace nnlab;
using Clock = std::chrono::steady_clock;

namespace {

const char* kCnn = R"({"name": "bench-serve-cnn", "seed": 3,
  "data": {"source": "fashion-mnist", "train_limit": 2000, "validation_fraction": 0.1},
  "model": {"input": [1, 28, 28], "layers": [
    {"type": "conv2d", "out_channels": 16, "kernel_size": 3, "padding": 1}, {"type": "relu"},
    {"type": "maxpool2d", "kernel_size": 2},
    {"type": "conv2d", "out_channels": 32, "kernel_size": 3, "padding": 1}, {"type": "relu"},
    {"type": "maxpool2d", "kernel_size": 2}, {"type": "flatten"},
    {"type": "linear", "out_features": 64}, {"type": "relu"}, {"type": "linear", "out_features": 10}]},
  "optimizer": {"type": "adam", "lr": 0.003},
  "training": {"epochs": 1, "batch_size": 64}})";

struct Row {
    double requestsPerSecond = 0;
    double samplesPerSecond = 0;
    double p50 = 0;
    double p99 = 0;
    double meanBatch = 0;
    int64_t failed = 0;
};

double percentile(std::vector<double>& v, double p)
{
    if (v.empty())
        return 0;
    std::sort(v.begin(), v.end());
    return v[std::min(v.size() - 1, size_t(p * double(v.size())))];
}

Row drive(InferenceServer& server, const std::vector<std::string>& bodies, int clients, double seconds)
{
    const ServeStats before = server.stats();
    std::vector<std::vector<double>> latencies(static_cast<size_t>(clients));
    std::atomic<int64_t> failed{0};
    const auto end = Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
    std::vector<std::thread> threads;
    const auto start = Clock::now();
    for (int c = 0; c < clients; ++c)
        threads.emplace_back([&, c] {
            httplib::Client client("127.0.0.1", server.port());
            client.set_keep_alive(true);
            client.set_tcp_nodelay(true);
            for (size_t i = size_t(c); Clock::now() < end; i += size_t(clients)) {
                const auto sent = Clock::now();
                const auto result = client.Post("/v1/predict", bodies[i % bodies.size()], "application/json");
                if (!result || result->status != 200) {
                    if (failed++ == 0)
                        std::fprintf(stderr, "first failure: %s\n",
                                     result ? result->body.c_str() : httplib::to_string(result.error()).c_str());
                }
                else
                    latencies[size_t(c)].push_back(std::chrono::duration<double, std::milli>(Clock::now() - sent).count());
            }
        });
    for (auto& t : threads)
        t.join();
    const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
    const ServeStats after = server.stats();
    std::vector<double> all;
    for (const auto& l : latencies)
        all.insert(all.end(), l.begin(), l.end());
    Row row;
    row.requestsPerSecond = double(all.size()) / elapsed;
    row.samplesPerSecond = double(after.samplesTotal - before.samplesTotal) / elapsed;
    row.p50 = percentile(all, 0.50);
    row.p99 = percentile(all, 0.99);
    const int64_t batches = after.batches - before.batches;
    row.meanBatch = batches ? double(after.samplesTotal - before.samplesTotal) / double(batches) : 0;
    row.failed = failed;
    return row;
}

} // namespace

int main(int argc, char** argv)
{
    const auto processStart = Clock::now();
    const double seconds = argc > 1 ? std::atof(argv[1]) : 4.0;
    char dirTemplate[] = "/tmp/bench-serve-XXXXXX";
    const std::string dir = mkdtemp(dirTemplate);
    const std::string db = dir + "/runs.db";

    const ParseResult parsed = parseExperiment(kCnn);
    TrainControl control;
    RunSessionOptions sessionOptions;
    sessionOptions.databasePath = db;
    const RunSessionResult run = runTrainingSession(prepareExperiment(parsed).experiment, control, sessionOptions);
    if (run.result.status != TrainStatus::Finished) {
        std::fprintf(stderr, "training failed: %s\n", run.result.message.c_str());
        return 1;
    }
    auto store = RunStore::open(db);
    const TrainedWeights weights = loadTrainedWeights(*store.value, run.runId);
    const double trainSeconds = std::chrono::duration<double>(Clock::now() - processStart).count();

    DataSpec data = parsed.spec.data;
    data.normalize = "none";
    const Dataset test = loadData(data, true, 3).test;
    std::vector<std::string> bodies;
    for (int64_t i = 0; i < 256; ++i) {
        const float* x = test.features.data() + i * 784;
        bodies.push_back(nlohmann::json{{"inputs", {std::vector<float>(x, x + 784)}}}.dump());
    }

    std::printf("bench_serve: a 2-conv CNN (run %s, trained in %.1f s), %u hardware threads, %.0f s per row\n",
                weights.runId.c_str(), trainSeconds, std::thread::hardware_concurrency(), seconds);
    std::printf("%-22s %8s %10s %10s %9s %9s %10s %7s\n", "mode", "clients", "requests/s", "samples/s", "p50 ms",
                "p99 ms", "mean batch", "failed");
    struct Mode {
        const char* name;
        int64_t maxBatch;
        int64_t maxWaitMs;
    };
    for (const Mode mode : {Mode{"batch-1 (max batch 1)", 1, 0}, Mode{"dynamic (64, 5 ms)", 64, 5}}) {
        ServeOptions options;
        options.port = 0;
        options.maxBatch = mode.maxBatch;
        options.maxWaitMs = mode.maxWaitMs;
        options.monitors.enabled = false;   // the bench measures serving, not the probe
        InferenceServer server(weights, options);
        server.start();
        drive(server, bodies, 4, 0.5);   // warm-up
        for (int clients : {1, 8, 32}) {
            const Row r = drive(server, bodies, clients, seconds);
            std::printf("%-22s %8d %10.0f %10.0f %9.2f %9.2f %10.2f %7lld\n", mode.name, clients, r.requestsPerSecond,
                        r.samplesPerSecond, r.p50, r.p99, r.meanBatch, static_cast<long long>(r.failed));
            std::fflush(stdout);
        }
        server.stop();
    }
    std::filesystem::remove_all(dir);
    std::printf("whole process: %.1f s\n", std::chrono::duration<double>(Clock::now() - processStart).count());
    return 0;
}
