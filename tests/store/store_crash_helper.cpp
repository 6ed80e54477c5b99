// Child process of test_store_crash: records a run the way the trainer does, as fast as a
// busy trainer would, until the test kills it with SIGKILL. Prints "run ID" first, then
// "committed N" each time the highest committed step grows: every point up to N is in the
// database for good.
#include "nnlab/run_recorder.h"

#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

int main(int argc, char** argv)
{
    if (argc != 2) {
        std::fprintf(stderr, "usage: store_crash_helper DATABASE\n");
        return 2;
    }
    auto recorder = nnlab::RunRecorder::open(argv[1]);
    if (!recorder.ok()) {
        std::fprintf(stderr, "%s\n", recorder.error.message.c_str());
        return 1;
    }
    nnlab::ExperimentSpec spec;
    spec.name = "crash";
    const auto id = recorder.value->begin(spec, R"({"name": "crash"})");
    if (!id.ok()) {
        std::fprintf(stderr, "%s\n", id.error.message.c_str());
        return 1;
    }
    std::printf("run %s\n", id.value.c_str());
    std::fflush(stdout);

    const auto start = std::chrono::steady_clock::now();
    int64_t printed = -1;
    int64_t step = 0;
    while (std::chrono::steady_clock::now() - start < std::chrono::seconds(30)) {
        std::vector<nnlab::MetricPoint> batch;
        for (int i = 0; i < 100; ++i, ++step) {
            const double wall = 1.7e9 + static_cast<double>(step) * 0.001;
            batch.push_back({"train/loss", step, wall, 1.0 / (1.0 + static_cast<double>(step))});
            batch.push_back({"train/accuracy", step, wall, 1.0 - 1.0 / (1.0 + static_cast<double>(step))});
            batch.push_back({"lr", step, wall, 0.001});
        }
        recorder.value->addMetrics(batch);
        if (step % 20000 == 0)
            recorder.value->addEvent(nnlab::EventKind::Epoch, std::to_string(step / 20000));
        const int64_t committed = recorder.value->committedStep();
        if (committed != printed) {
            std::printf("committed %lld\n", static_cast<long long>(committed));
            std::fflush(stdout);
            printed = committed;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    nnlab::TrainResult result;
    result.status = nnlab::TrainStatus::Finished;
    return recorder.value->finish(result).ok() ? 0 : 1;
}
