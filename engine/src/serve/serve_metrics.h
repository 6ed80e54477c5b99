// What the server counts and judges: request and batch counters and histograms, the recent
// requests and samples the monitors look at, the monitors' states and their alerts. One
// mutex; HTTP threads, the batcher and the monitor thread all record here. Renders /metrics
// (Prometheus text 0.0.4) and /v1/stats (ServeStats).
#pragma once

#include "nnlab/model_interface.h"
#include "nnlab/serve.h"

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace nnlab::serve {

class ServeMetrics {
public:
    // Called outside the lock for each alert, with the monitor's metric.
    using AlertSink = std::function<void(const ServeAlert& alert, const std::string& metric)>;

    ServeMetrics(const ModelInterface& interface, const ServeOptions& options, std::string runId);

    void setLatencyBaseline(double milliseconds);
    void setAlertSink(AlertSink sink);

    // Every answered request. `seconds`: its handling time, when known (not for requests refused
    // before they reached a handler, such as a too large body).
    void recordRequest(const std::string& method, const std::string& path, int status,
                       std::optional<double> seconds);
    // Every model call: its raw inputs and outputs (count x outputs).
    void recordBatch(const float* raw, const float* outputs, int64_t count);
    // Judges the monitors; fires alerts on crossings.
    void evaluate();

    std::string prometheusText() const;
    ServeStats stats() const;

private:
    enum Kind { Latency, ErrorRate, InputDrift, PredictionShift };
    struct Monitor {
        Kind kind;
        ServeMonitorState state;
    };
    struct RequestEvent {
        std::chrono::steady_clock::time_point time;
        double seconds;   // < 0 when unknown
        bool error;
    };

    void prune(std::chrono::steady_clock::time_point now);
    std::vector<double> latencies(std::chrono::steady_clock::time_point since, int64_t* requests,
                                  int64_t* errors) const;
    Monitor* find(Kind kind);

    const ModelInterface m_interface;
    const ServeOptions m_options;
    const std::string m_runId;
    const std::chrono::steady_clock::time_point m_started;
    const std::vector<double> m_durationBounds;
    const std::vector<double> m_batchBounds;

    mutable std::mutex m_mutex;
    AlertSink m_sink;
    std::map<int, int64_t> m_codes;
    int64_t m_requests = 0;
    int64_t m_errors = 0;
    int64_t m_samples = 0;
    std::vector<int64_t> m_durationBuckets;   // cumulative counts are made when rendering
    double m_durationSum = 0.0;
    int64_t m_durationCount = 0;
    std::vector<int64_t> m_batchBuckets;
    int64_t m_batchSum = 0;
    int64_t m_batchCount = 0;
    std::deque<RequestEvent> m_recent;        // /v1/predict requests, newest last

    // The drift window: the last driftWindow samples and their predicted classes, as rings.
    std::vector<float> m_ring;
    std::vector<int32_t> m_ringClasses;
    int64_t m_ringNext = 0;
    int64_t m_ringCount = 0;
    int64_t m_newSamples = 0;                 // since the drift monitors last judged

    std::vector<Monitor> m_monitors;
    std::deque<ServeAlert> m_alerts;          // the last 100
    std::map<std::string, int64_t> m_alertCounts;
};

} // namespace nnlab::serve
