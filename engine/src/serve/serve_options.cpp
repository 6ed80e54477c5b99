// ServeOptions checks and the /v1/stats JSON: plain values, no server needed.
#include "nnlab/serve.h"

#include "alert_webhook.h"

#include <nlohmann/json.hpp>

#include <cmath>

namespace nnlab {

std::string checkServeOptions(const ServeOptions& o)
{
    std::string problems;
    auto need = [&](bool ok, const std::string& problem) {
        if (!ok)
            problems += problem + "\n";
    };
    need(!o.host.empty(), "host: empty; use 127.0.0.1 (this machine) or 0.0.0.0 (every interface)");
    need(o.port >= 0 && o.port <= 65535, "port: must be 0..65535 (0 picks a free one), got " + std::to_string(o.port));
    need(o.threads >= 0, "threads: must be >= 0 (0 = LibTorch's default), got " + std::to_string(o.threads));
    need(o.httpThreads >= 1 && o.httpThreads <= 1024, "http threads: must be 1..1024, got " + std::to_string(o.httpThreads));
    need(o.maxBatch >= 1 && o.maxBatch <= 65536, "max batch: must be 1..65536, got " + std::to_string(o.maxBatch));
    need(o.maxWaitMs >= 0 && o.maxWaitMs <= 10000, "max wait: must be 0..10000 ms, got " + std::to_string(o.maxWaitMs));
    need(o.maxBodyBytes >= 1024, "max body bytes: must be >= 1024, got " + std::to_string(o.maxBodyBytes));
    need(o.maxSamplesPerRequest >= 1,
         "max samples per request: must be >= 1, got " + std::to_string(o.maxSamplesPerRequest));
    need(o.driftWindow >= 10 && o.driftWindow <= 1000000,
         "drift window: must be 10..1000000 samples, got " + std::to_string(o.driftWindow));
    const ServeMonitorOptions& m = o.monitors;
    auto coefficient = [&](double value, const char* name) {
        need(std::isfinite(value) && value >= 0.0,
             std::string("monitor ") + name + ": the coefficient must be >= 0 (0 = off), got " + std::to_string(value));
    };
    coefficient(m.latency, "latency");
    coefficient(m.errorRate, "error rate");
    coefficient(m.inputDrift, "input drift");
    coefficient(m.predictionShift, "prediction shift");
    need(std::isfinite(m.windowSeconds) && m.windowSeconds > 0.0,
         "monitor window: must be > 0 seconds, got " + std::to_string(m.windowSeconds));
    need(m.minRequests >= 1, "monitor min requests: must be >= 1, got " + std::to_string(m.minRequests));
    need(m.intervalMs >= 10, "monitor interval: must be >= 10 ms, got " + std::to_string(m.intervalMs));
    if (!o.webhookUrl.empty()) {
        std::string error;
        if (!serve::parseWebhookUrl(o.webhookUrl, error))
            problems += error + "\n";
    }
    return problems;
}

std::string statsToJson(const ServeStats& s)
{
    using nlohmann::json;
    json monitors = json::array();
    for (const ServeMonitorState& m : s.monitors)
        monitors.push_back({{"name", m.name},
                            {"metric", m.metric},
                            {"value", m.value ? json(*m.value) : json(nullptr)},
                            {"threshold", m.threshold},
                            {"baseline", m.baseline},
                            {"coefficient", m.coefficient},
                            {"firing", m.firing}});
    json alerts = json::array();
    for (const ServeAlert& a : s.alerts)
        alerts.push_back({{"time", a.time},
                          {"monitor", a.monitor},
                          {"message", a.message},
                          {"value", a.value},
                          {"threshold", a.threshold}});
    const json stats = {{"run", s.runId},
                        {"uptime_s", s.uptimeSeconds},
                        {"requests_total", s.requestsTotal},
                        {"errors_total", s.errorsTotal},
                        {"samples_total", s.samplesTotal},
                        {"request_rate", s.requestRate},
                        {"latency_ms", {{"p50", s.latencyP50Ms}, {"p90", s.latencyP90Ms}, {"p99", s.latencyP99Ms}}},
                        {"batch_size_mean", s.batchSizeMean},
                        {"monitors", monitors},
                        {"alerts", alerts}};
    return stats.dump();
}

} // namespace nnlab
