// `nnlab-cli serve`: loads a run's weights, starts the InferenceServer, prints the line the
// GUI reads to find the port, and serves until Ctrl+C or SIGTERM.
#include "serve_command.h"

#include "cli_args.h"
#include "interrupt.h"
#include "model_source.h"

#include "nnlab/serve.h"
#include "nnlab/store.h"
#include "nnlab/trained_model.h"

#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <optional>
#include <thread>

namespace nnlab::cli {

namespace {

const char* kServeHelp = R"(Usage: nnlab-cli serve RUN [options]

Serves a trained run (an id or a unique prefix) over HTTP on this machine, with dynamic
batching, Prometheus metrics and monitors on the live traffic. Once listening it prints
  serving run <id> (<name>) on http://HOST:PORT
and serves until Ctrl+C or SIGTERM.

Endpoints:
  POST /v1/predict   {"inputs": [sample, ...]}, each sample nested like the model's input
                     ([C][H][W] or [F]) or a flat list; raw values (pixels 0..255). Image
                     models also take one PNG/JPEG body (Content-Type image/png, image/jpeg).
                     Answers {"outputs": [[...]], "classes": [...], "model": RUN}
  GET  /v1/model     input shape, classes, normalization, parameters
  GET  /healthz      liveness
  GET  /metrics      Prometheus text: requests, latency and batch-size histograms, monitors
  GET  /v1/stats     JSON summary: request rate, latency percentiles, monitors, alerts

Options:
  --db PATH                run store file; without it $NNLAB_DB, else the default store
  --checkpoint best|latest which weights (default best)
  --host ADDR              address to listen on (default 127.0.0.1)
  --port N                 port (default 8080; 0 picks a free one)
  --threads N              inference threads (default 0: LibTorch's default)
  --http-threads N         connections served at once (default 32)
  --max-batch N            samples per model call (default 64; 1 = no batching)
  --max-wait-ms N          how long a batch waits for requests on their way (default 5)
  --max-body-mb N          largest request body in MiB (default 16)
  --drift-window N         samples the drift monitors judge (default 500)
  --webhook URL            POST alerts as JSON to http://127.0.0.1[:port]/path or localhost
  --no-monitors            no monitors (and no start-up latency probe)
  -h, --help               this help

Monitors (threshold = coefficient x baseline; a coefficient of 0 turns one off):
  --monitor-latency X           p99 latency over 10 s > X x (start-up p99 + max wait) (default 5)
  --monitor-error-rate X        failed share of predict requests over 10 s > X x 1% (default 5)
  --monitor-input-drift X       input PSI of the drift window > X x its sampling PSI (default 12)
  --monitor-prediction-shift X  predicted-class PSI vs training labels > X x (classes-1)/window
                                (default 10)
Latency and error rate judge with at least 20 requests in the window, the drift monitors
once the window is full. Alerts go to stderr, /metrics, /v1/stats and the webhook.

Exit status: 0 stopped by a signal, 1 failed (no such run, port in use), 2 bad arguments or an
int8 compression result (it keeps no float weights; serve its parent).
)";

// Reads --name as a number into `target`; false (after printing) when it is not one.
template <typename T>
bool numberOption(Args& args, const std::string& name, T& target, bool integer)
{
    const auto text = args.value(name);
    if (!text)
        return true;
    const auto v = parseNumber(*text);
    if (!v || (integer && std::floor(*v) != *v)) {
        usageError("serve", name + ": expected " + (integer ? "an integer" : "a number") + ", got '" + *text + "'");
        return false;
    }
    target = static_cast<T>(*v);
    return true;
}

} // namespace

int serveCommand(const std::vector<std::string>& argv)
{
    Args args(argv);
    if (args.wantsHelp()) {
        std::fputs(kServeHelp, stdout);
        return kExitOk;
    }
    ServeOptions options;
    const std::string database = args.value("--db").value_or(defaultDatabasePath());
    const std::string checkpoint = args.value("--checkpoint").value_or("best");
    options.host = args.value("--host").value_or(options.host);
    options.webhookUrl = args.value("--webhook").value_or("");
    options.monitors.enabled = !args.flag("--no-monitors");
    double bodyMb = double(options.maxBodyBytes) / (1 << 20);
    const bool numbersOk =
        numberOption(args, "--port", options.port, true) && numberOption(args, "--threads", options.threads, true) &&
        numberOption(args, "--http-threads", options.httpThreads, true) &&
        numberOption(args, "--max-batch", options.maxBatch, true) &&
        numberOption(args, "--max-wait-ms", options.maxWaitMs, true) && numberOption(args, "--max-body-mb", bodyMb, false) &&
        numberOption(args, "--drift-window", options.driftWindow, true) &&
        numberOption(args, "--monitor-latency", options.monitors.latency, false) &&
        numberOption(args, "--monitor-error-rate", options.monitors.errorRate, false) &&
        numberOption(args, "--monitor-input-drift", options.monitors.inputDrift, false) &&
        numberOption(args, "--monitor-prediction-shift", options.monitors.predictionShift, false);
    if (!numbersOk)
        return kExitUsage;
    options.maxBodyBytes = int64_t(bodyMb * double(1 << 20));
    if (!args.missingValue().empty())
        return usageError("serve", args.missingValue() + " needs a value");
    std::string error;
    const std::vector<std::string> positionals = args.positionals(error);
    if (!error.empty())
        return usageError("serve", error);
    if (positionals.size() != 1)
        return usageError("serve", positionals.empty() ? "which run? give its id or a unique prefix"
                                                       : "one run at a time, got " + std::to_string(positionals.size()));
    if (checkpoint != "best" && checkpoint != "latest")
        return usageError("serve", "--checkpoint: expected best or latest, got '" + checkpoint + "'");
    const std::string problems = checkServeOptions(options);
    if (!problems.empty())
        return usageError("serve", problems.substr(0, problems.size() - 1));

    auto store = RunStore::open(database);
    if (!store.ok()) {
        std::fprintf(stderr, "nnlab-cli serve: %s\n", store.error.message.c_str());
        return kExitFailed;
    }
    // An int8 compression result keeps no float weights to serve: say what works (exit 2).
    ModelSourceOptions source;
    source.database = database;
    if (const Int8Result int8 = int8ResultOf(positionals[0], source); int8.found()) {
        std::fprintf(stderr,
                     "nnlab-cli serve: run %s (%s) is an int8 compression result (method %s, model file %s): serve "
                     "runs float weights, which it does not keep; serve its float parent run %s, `nnlab-cli compare %s` "
                     "shows its measured accuracy and latency, `nnlab-cli export %s --format safetensors` copies the "
                     "int8 file\n",
                     int8.runId.c_str(), int8.runName.c_str(), int8.method.empty() ? "int8" : int8.method.c_str(),
                     int8.path.c_str(), int8.parentId.c_str(), int8.runId.c_str(), int8.runId.c_str());
        return kExitUsage;
    }
    // A client closing its connection mid-answer must not end the server.
    std::signal(SIGPIPE, SIG_IGN);
    TrainControl control;
    CancelOnSignal cancelOnSignal(control);
    try {
        const TrainedWeights weights = loadTrainedWeights(
            *store.value, positionals[0], checkpoint == "latest" ? CheckpointChoice::Latest : CheckpointChoice::Best);
        InferenceServer server(weights, options);
        server.start();
        std::printf("serving run %s (%s) on http://%s:%d\n", weights.runId.c_str(), weights.runName.c_str(),
                    options.host.c_str(), server.port());
        std::fflush(stdout);
        while (!control.isCancelled())
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        std::fprintf(stderr, "nnlab-cli serve: stopping\n");
        server.stop();
        const ServeStats stats = server.stats();
        std::fprintf(stderr, "served %lld requests (%lld errors), %lld samples in %s\n",
                     static_cast<long long>(stats.requestsTotal), static_cast<long long>(stats.errorsTotal),
                     static_cast<long long>(stats.samplesTotal), formatDuration(stats.uptimeSeconds).c_str());
    } catch (const std::exception& e) {
        std::fprintf(stderr, "nnlab-cli serve: %s\n", e.what());
        return kExitFailed;
    }
    return kExitOk;
}

} // namespace nnlab::cli
