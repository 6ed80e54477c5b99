// Child processes: spawning them (no shell) and reading their BENCH_JSON line, and the
// nnlab side of a measurement.
#include "bench_speed.h"

#include "nnlab/run_session.h"
#include "nnlab/runtime.h"
#include "nnlab/spec_json.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <sstream>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

namespace bench {

namespace {

// CPU seconds of the whole process, all threads: with wall time, shows how much the run
// waited for a core (other processes) and how much extra threads cost.
double cpuSeconds()
{
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) + 1e-6 * static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec);
}

} // namespace

double tuningSecondsOf(const std::string& text)
{
    const std::string mark = "; tuning ";
    const size_t at = text.rfind(mark);
    if (at == std::string::npos)
        return 0.0;
    return std::strtod(text.c_str() + at + mark.size(), nullptr);
}

ProcessResult runProcess(const std::vector<std::string>& argv, const std::vector<std::string>& extraEnv,
                         bool captureStderr)
{
    ProcessResult result;
    int fds[2];
    if (argv.empty() || pipe(fds) != 0)
        return result;
    std::fflush(stdout);
    std::fflush(stderr);
    const auto spawned = std::chrono::steady_clock::now();
    const pid_t pid = fork();
    if (pid == 0) {
        dup2(fds[1], STDOUT_FILENO);
        if (captureStderr)
            dup2(fds[1], STDERR_FILENO);
        close(fds[0]);
        close(fds[1]);
        for (const auto& kv : extraEnv)
            putenv(const_cast<char*>(kv.c_str()));
        std::vector<char*> args;
        for (const auto& a : argv)
            args.push_back(const_cast<char*>(a.c_str()));
        args.push_back(nullptr);
        execvp(args[0], args.data());
        std::fprintf(stderr, "bench_speed: cannot run %s\n", argv[0].c_str());
        _exit(127);
    }
    close(fds[1]);
    if (pid < 0) {
        close(fds[0]);
        return result;
    }
    char buffer[4096];
    ssize_t n;
    while ((n = read(fds[0], buffer, sizeof buffer)) > 0)
        result.output.append(buffer, static_cast<size_t>(n));
    close(fds[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - spawned).count();
    result.exitCode = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);

    std::istringstream lines(result.output);
    std::string line;
    const std::string tag = kJsonTag;
    while (std::getline(lines, line))
        if (line.compare(0, tag.size(), tag) == 0)
            result.json = Json::parse(line.substr(tag.size()), nullptr, false);
    if (result.json.is_discarded())
        result.json = nullptr;
    return result;
}

int runNnlabChild(const std::string& specFile, int threads)
{
    using Clock = std::chrono::steady_clock;
    const auto processStart = Clock::now();
    // What nnlab-cli does first.
    nnlab::prepareProcess();
    const nnlab::RuntimeInfo runtime = nnlab::probeRuntime(true);
    const auto probed = Clock::now();
    const nnlab::ParseResult parsed = nnlab::loadExperimentFile(specFile, {"training.threads=" + std::to_string(threads)});
    if (!parsed.ok()) {
        std::fprintf(stderr, "%s\n", parsed.errorText().c_str());
        return 2;
    }
    const nnlab::ExperimentSpec& spec = parsed.spec;
    Clock::time_point firstStep, lastEpoch;
    double firstCpu = 0.0, lastCpu = 0.0;
    nnlab::TrainInfo trainInfo;
    nnlab::RunSessionHooks hooks;
    // The clock runs from the first step (after data loading and the thread/oneDNN tuning)
    // to the end of the last epoch, its validation pass included; the peer times the same span.
    hooks.callbacks.started = [&](const nnlab::TrainInfo& info) {
        trainInfo = info;
        firstStep = Clock::now();
        firstCpu = cpuSeconds();
    };
    hooks.callbacks.event = [&](nnlab::EventKind kind, int64_t, const std::string& detail) {
        if (kind == nnlab::EventKind::Epoch && detail == std::to_string(spec.training.epochs)) {
            lastEpoch = Clock::now();
            lastCpu = cpuSeconds();
        }
    };
    // Where the time before the first step goes: data loading (the stage, up to the loader's
    // "done"), then building, the model interface and tuning until the first step.
    Clock::time_point dataStart = probed, dataEnd = probed;
    hooks.stage = [&](const std::string& stage) {
        if (stage.rfind("loading ", 0) == 0)
            dataStart = dataEnd = Clock::now();
        else if (stage == "training" && dataEnd == dataStart)
            dataEnd = Clock::now();
    };
    hooks.dataProgress = [&](double fraction, const std::string&) {
        if (fraction >= 1.0)
            dataEnd = Clock::now();
    };
    nnlab::TrainControl control;
    nnlab::RunSessionOptions options;
    options.store = false;
    const nnlab::RunSessionResult outcome = nnlab::runTrainingSession(nnlab::prepareExperiment(spec).experiment, control, options, hooks);
    const auto sessionEnd = Clock::now();
    const nnlab::TrainResult& r = outcome.result;
    if (r.status != nnlab::TrainStatus::Finished) {
        std::fprintf(stderr, "nnlab run failed: %s\n", r.message.c_str());
        return 1;
    }
    const auto metric = [&](const char* tag) -> Json {
        auto it = r.finalMetrics.find(tag);
        return it == r.finalMetrics.end() ? Json(nullptr) : Json(it->second);
    };
    const auto seconds = [](Clock::time_point a, Clock::time_point b) {
        return std::chrono::duration<double>(b - a).count();
    };
    Json out{{"side", "nnlab"},
             {"threads", trainInfo.threads},
             {"thread_choice", trainInfo.threadChoice},
             {"seconds", seconds(firstStep, lastEpoch)},
             {"cpu_seconds", lastCpu - firstCpu},
             {"setup_seconds", seconds(processStart, firstStep)},
             // The split (split_*): main() entry on the steady clock, which Linux shares
             // between processes, so the parent takes the library loading before main() as
             // main_at - its spawn time, and the exit as its wait end - printed_at.
             {"main_at", std::chrono::duration<double>(processStart.time_since_epoch()).count()},
             {"split_startup", seconds(processStart, probed)},
             {"split_data", seconds(dataStart, dataEnd)},
             {"split_tuning", tuningSecondsOf(trainInfo.threadChoice)},
             {"split_build", seconds(dataEnd, firstStep) - tuningSecondsOf(trainInfo.threadChoice)},
             {"split_loop", seconds(firstStep, lastEpoch)},
             {"split_after", seconds(lastEpoch, sessionEnd)},
             {"steps", r.steps},
             {"train_loss", metric("train/loss")},
             {"train_accuracy", metric("train/accuracy")},
             {"val_loss", metric("val/loss")},
             {"val_accuracy", metric("val/accuracy")},
             {"test_loss", metric("test/loss")},
             {"test_accuracy", metric("test/accuracy")},
             {"blas", runtime.blasLibrary},
             {"blas_gflops", runtime.matmulGflops},
             {"blas_warning", runtime.warning}};
    out["printed_at"] = std::chrono::duration<double>(Clock::now().time_since_epoch()).count();
    std::printf("%s%s\n", kJsonTag, out.dump().c_str());
    return 0;
}

} // namespace bench
