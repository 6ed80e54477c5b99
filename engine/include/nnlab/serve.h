// A local HTTP inference server for a trained run (`nnlab-cli serve`): JSON or image requests
// in, class probabilities out, with dynamic batching, Prometheus metrics and monitors on the
// live traffic. No LibTorch and no HTTP library types here: the server is a pimpl.
//
// Endpoints (engine/src/serve/inference_server.cpp):
//   POST /v1/predict   {"inputs": [sample, ...]}, each sample nested like the model's input
//                      shape or a flat list of its numbers, in raw units (pixels 0..255);
//                      or, for image models, one PNG/JPEG body (Content-Type image/png or
//                      image/jpeg), converted to the model's channels and resized to its size.
//                      Answers {"outputs": [[...], ...], "classes": [...], "model": run id}.
//   GET  /healthz      {"status": "ok"}
//   GET  /v1/model     run id, name, input shape, classes, normalization, parameters
//   GET  /metrics      Prometheus text format 0.0.4
//   GET  /v1/stats     ServeStats as JSON (statsToJson), for the desktop's Deployments dock
// Every refused request gets a 4xx and {"error": "<what is wrong, naming the field>"}.
//
// Monitors (the training monitors' rule form, threshold = coefficient x baseline) judge the
// live traffic once a second:
//   latency           p99 request latency (ms) over the last `windowSeconds`; baseline: the p99
//                     of 100 single-sample predictions at start-up plus maxWaitMs (the wait
//                     batching may add by design), at least 1 ms.
//   error_rate        share of /v1/predict requests answered >= 400 over `windowSeconds`;
//                     baseline 0.01 (1% of requests).
//   input_drift       inputDrift() (mean PSI over channels/features) of the last `driftWindow`
//                     samples; baseline inputPsiAt100 x 100 / driftWindow, what sampling alone
//                     gives for a window that size.
//   prediction_shift  PSI of the window's predicted-class shares against the training labels'
//                     shares (classPrior); baseline (classes - 1) / driftWindow, PSI's sampling
//                     expectation. Classification only.
// Latency and error rate judge once the window holds `minRequests` requests; the drift
// monitors once `driftWindow` samples have arrived. An alert fires when a value crosses its
// threshold (once per crossing; cleared when back under) and goes to stderr (one line), to
// /metrics and /v1/stats, and to the optional webhook (POSTed from its own thread).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace nnlab {

struct TrainedWeights;

struct ServeMonitorOptions {
    bool enabled = true;                 // false: no monitors at all (and no start-up latency probe)
    // Coefficients: threshold = coefficient x baseline; 0 turns that monitor off, else > 0.
    double latency = 5.0;                // x start-up single-sample p99 latency
    double errorRate = 5.0;              // x 0.01: fires above 5% of requests failing
    double inputDrift = 12.0;            // x the sampling PSI of a driftWindow-sample window
    double predictionShift = 10.0;       // x (classes - 1) / driftWindow
    // Why 12 and 10 (measured on Fashion-MNIST, an MLP at ~80%, windows of 500; see
    // tests/serve/test_serve_monitors.cpp): the test set's windows sit at 3.5-5.8x the input
    // baseline and 0.8-4.8x the class baseline (new images are not the training windows the
    // baseline was measured on, and a model's mistakes skew its class shares), while the same
    // images brightened by 60 levels give 48x and 23x, inverted 245x and 300x.
    double windowSeconds = 10.0;         // latency and error rate: the window judged, > 0
    int64_t minRequests = 20;            // latency and error rate: judge only with this many, >= 1
    int64_t intervalMs = 1000;           // how often the monitors judge, >= 10
};

struct ServeOptions {
    std::string host = "127.0.0.1";      // address to listen on; loopback by default
    int port = 8080;                     // 0 = pick a free one (InferenceServer::port() says which)
    int threads = 0;                     // inference intra-op threads; 0 = LibTorch's default
    int httpThreads = 32;                // connections served at once (a keep-alive connection
                                         // holds one), >= 1
    int64_t maxBatch = 64;               // samples per model call, >= 1 (1 = no batching)
    int64_t maxWaitMs = 5;               // how long the batcher waits for more samples after the
                                         // first arrives, >= 0; it waits only while other requests
                                         // are being read, so a lone client does not wait
    int64_t maxBodyBytes = 16 << 20;     // larger request bodies get 413, >= 1024
    int64_t maxSamplesPerRequest = 4096; // more samples in one request get 400, >= 1
    int64_t driftWindow = 500;           // samples the drift monitors judge, >= 10
    std::string webhookUrl;              // optional: alerts POSTed here as JSON; only
                                         // http://127.0.0.1[:port]/path or http://localhost[...]
    ServeMonitorOptions monitors;
};

// Problems with `options`, one a line naming the field; empty when fine.
std::string checkServeOptions(const ServeOptions& options);

struct ServeMonitorState {
    std::string name;                    // latency, error_rate, input_drift, prediction_shift
    std::string metric;                  // what it measures: p99_latency_ms, error_rate, input_psi, class_psi
    std::optional<double> value;         // the last judged value; none until the window is full
    double threshold = 0.0;              // coefficient x baseline
    double baseline = 0.0;
    double coefficient = 0.0;
    bool firing = false;
};

struct ServeAlert {
    double time = 0.0;                   // unix seconds
    std::string monitor;
    std::string message;                 // one line: "input_drift 0.31 > 4 x 0.012 = 0.048"
    double value = 0.0;
    double threshold = 0.0;
};

struct ServeStats {
    std::string runId;
    double uptimeSeconds = 0.0;
    int64_t requestsTotal = 0;           // every HTTP request answered, any path
    int64_t errorsTotal = 0;             // those answered >= 400
    int64_t samplesTotal = 0;            // samples predicted
    double requestRate = 0.0;            // /v1/predict requests per second over the last 10 s
    double latencyP50Ms = 0.0;           // /v1/predict latency over the last 10 s; 0 without requests
    double latencyP90Ms = 0.0;
    double latencyP99Ms = 0.0;
    double batchSizeMean = 0.0;          // samples per model call since start
    int64_t batches = 0;                 // model calls since start
    std::vector<ServeMonitorState> monitors;
    std::vector<ServeAlert> alerts;      // the last 100, oldest first
};

// The /v1/stats JSON: {"run", "uptime_s", "requests_total", "errors_total", "samples_total",
// "request_rate", "latency_ms": {"p50", "p90", "p99"}, "batch_size_mean", "monitors": [{"name",
// "metric", "value" (null until judged), "threshold", "baseline", "coefficient", "firing"}],
// "alerts": [{"time", "monitor", "message", "value", "threshold"}]}.
std::string statsToJson(const ServeStats& stats);

class InferenceServer {
public:
    // Builds the Predictor (options.threads); listens only after start().
    InferenceServer(const TrainedWeights& weights, ServeOptions options);
    ~InferenceServer();                  // stops
    InferenceServer(const InferenceServer&) = delete;
    InferenceServer& operator=(const InferenceServer&) = delete;

    // Checks the options, measures the latency baseline, binds and serves on background
    // threads. Throws std::runtime_error with a clear message: bad options, the port taken.
    void start();
    int port() const;                    // the bound port (after start)
    void stop();                         // idempotent; in-flight requests are answered first
    ServeStats stats() const;
    // Judges the monitors now (they also judge every intervalMs): for tests and a last report.
    void evaluateMonitorsNow();

private:
    struct Impl;
    std::unique_ptr<Impl> m_impl;
};

} // namespace nnlab
