#include "serve_metrics.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <limits>

namespace nnlab::serve {

namespace {

using Clock = std::chrono::steady_clock;

constexpr size_t kKeptAlerts = 100;
constexpr double kStatsWindowSeconds = 10.0;   // /v1/stats: request rate and latency
constexpr double kBaselineErrorRate = 0.01;    // 1% of requests failing is the normal we allow for
constexpr double kMinLatencyBaselineMs = 1.0;  // HTTP handling the start-up probe does not see

std::vector<double> batchBounds(int64_t maxBatch)
{
    std::vector<double> bounds;
    for (int64_t b = 1; b < maxBatch; b *= 2)
        bounds.push_back(double(b));
    bounds.push_back(double(maxBatch));
    return bounds;
}

void observe(const std::vector<double>& bounds, std::vector<int64_t>& buckets, double value)
{
    const auto at = std::lower_bound(bounds.begin(), bounds.end(), value);
    ++buckets[size_t(at - bounds.begin())];   // the last bucket is +Inf
}

double percentile(std::vector<double> values, double p)
{
    if (values.empty())
        return 0.0;
    std::sort(values.begin(), values.end());
    const size_t rank = size_t(std::ceil(p * double(values.size())));
    return values[std::min(values.size() - 1, rank == 0 ? 0 : rank - 1)];
}

std::string number(double v)
{
    if (std::isnan(v))
        return "NaN";
    if (std::isinf(v))
        return v > 0 ? "+Inf" : "-Inf";
    char buffer[40];
    std::snprintf(buffer, sizeof buffer, "%.9g", v);
    return buffer;
}

std::string label(const std::string& value)
{
    std::string out;
    for (char c : value) {
        if (c == '\\' || c == '"')
            out += '\\';
        if (c == '\n') {
            out += "\\n";
            continue;
        }
        out += c;
    }
    return out;
}

double unixNow()
{
    return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string clockText(double unixSeconds)
{
    const std::time_t t = std::time_t(unixSeconds);
    std::tm tm{};
    localtime_r(&t, &tm);
    char buffer[32];
    std::strftime(buffer, sizeof buffer, "%Y-%m-%d %H:%M:%S", &tm);
    return buffer;
}

void header(std::string& out, const char* name, const char* type, const char* help)
{
    out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
}

void histogram(std::string& out, const char* name, const std::vector<double>& bounds,
               const std::vector<int64_t>& buckets, double sum, int64_t count)
{
    int64_t cumulative = 0;
    for (size_t i = 0; i < bounds.size(); ++i) {
        cumulative += buckets[i];
        out += std::string(name) + "_bucket{le=\"" + number(bounds[i]) + "\"} " + std::to_string(cumulative) + "\n";
    }
    out += std::string(name) + "_bucket{le=\"+Inf\"} " + std::to_string(count) + "\n";
    out += std::string(name) + "_sum " + number(sum) + "\n";
    out += std::string(name) + "_count " + std::to_string(count) + "\n";
}

} // namespace

ServeMetrics::ServeMetrics(const ModelInterface& interface, const ServeOptions& options, std::string runId)
    : m_interface(interface), m_options(options), m_runId(std::move(runId)), m_started(Clock::now()),
      m_durationBounds{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10},
      m_batchBounds(batchBounds(options.maxBatch))
{
    m_durationBuckets.assign(m_durationBounds.size() + 1, 0);
    m_batchBuckets.assign(m_batchBounds.size() + 1, 0);
    m_ring.assign(size_t(options.driftWindow * interface.sampleSize()), 0.0f);
    m_ringClasses.assign(size_t(options.driftWindow), 0);

    const ServeMonitorOptions& m = options.monitors;
    if (!m.enabled)
        return;
    auto add = [&](Kind kind, const char* name, const char* metric, double coefficient, double baseline) {
        if (coefficient <= 0.0)
            return;
        ServeMonitorState s;
        s.name = name;
        s.metric = metric;
        s.coefficient = coefficient;
        s.baseline = baseline;
        s.threshold = coefficient * baseline;
        m_monitors.push_back({kind, s});
    };
    const double window = double(options.driftWindow);
    add(Latency, "latency", "p99_latency_ms", m.latency, kMinLatencyBaselineMs);
    add(ErrorRate, "error_rate", "error_rate", m.errorRate, kBaselineErrorRate);
    if (!interface.histogramEdges.empty() && interface.inputPsiAt100 > 0.0)
        add(InputDrift, "input_drift", "input_psi", m.inputDrift, interface.inputPsiAt100 * 100.0 / window);
    if (interface.classification() && interface.classPrior.size() == size_t(interface.outputs))
        add(PredictionShift, "prediction_shift", "class_psi", m.predictionShift,
            double(interface.outputs - 1) / window);
}

ServeMetrics::Monitor* ServeMetrics::find(Kind kind)
{
    for (Monitor& m : m_monitors)
        if (m.kind == kind)
            return &m;
    return nullptr;
}

void ServeMetrics::setLatencyBaseline(double milliseconds)
{
    std::lock_guard<std::mutex> lock(m_mutex);
    if (Monitor* m = find(Latency)) {
        m->state.baseline = std::max(kMinLatencyBaselineMs, milliseconds);
        m->state.threshold = m->state.coefficient * m->state.baseline;
    }
}

void ServeMetrics::setAlertSink(AlertSink sink)
{
    std::lock_guard<std::mutex> lock(m_mutex);
    m_sink = std::move(sink);
}

void ServeMetrics::prune(Clock::time_point now)
{
    const double keep = std::max(kStatsWindowSeconds, m_options.monitors.windowSeconds);
    while (!m_recent.empty() && std::chrono::duration<double>(now - m_recent.front().time).count() > keep)
        m_recent.pop_front();
}

void ServeMetrics::recordRequest(const std::string& method, const std::string& path, int status,
                                 std::optional<double> seconds)
{
    const auto now = Clock::now();
    std::lock_guard<std::mutex> lock(m_mutex);
    ++m_codes[status];
    ++m_requests;
    if (status >= 400)
        ++m_errors;
    if (method != "POST" || path != "/v1/predict")
        return;
    if (seconds) {
        observe(m_durationBounds, m_durationBuckets, *seconds);
        m_durationSum += *seconds;
        ++m_durationCount;
    }
    m_recent.push_back({now, seconds.value_or(-1.0), status >= 400});
    prune(now);
}

void ServeMetrics::recordBatch(const float* raw, const float* outputs, int64_t count)
{
    const int64_t size = m_interface.sampleSize();
    const int64_t k = m_interface.outputs;
    const int64_t window = m_options.driftWindow;
    std::lock_guard<std::mutex> lock(m_mutex);
    observe(m_batchBounds, m_batchBuckets, double(count));
    m_batchSum += count;
    ++m_batchCount;
    m_samples += count;
    if (m_monitors.empty())
        return;
    for (int64_t i = 0; i < count; ++i) {
        std::copy(raw + i * size, raw + (i + 1) * size, m_ring.begin() + m_ringNext * size);
        const float* row = outputs + i * k;
        m_ringClasses[size_t(m_ringNext)] = int32_t(std::max_element(row, row + k) - row);
        m_ringNext = (m_ringNext + 1) % window;
        m_ringCount = std::min(window, m_ringCount + 1);
    }
    m_newSamples += count;
}

std::vector<double> ServeMetrics::latencies(Clock::time_point since, int64_t* requests, int64_t* errors) const
{
    std::vector<double> values;
    *requests = 0;
    *errors = 0;
    for (auto it = m_recent.rbegin(); it != m_recent.rend() && it->time >= since; ++it) {
        ++*requests;
        *errors += it->error;
        if (it->seconds >= 0.0)
            values.push_back(it->seconds * 1000.0);
    }
    return values;
}

void ServeMetrics::evaluate()
{
    const auto now = Clock::now();
    std::unique_lock<std::mutex> lock(m_mutex);
    if (m_monitors.empty())
        return;
    prune(now);
    const auto since = now - std::chrono::duration_cast<Clock::duration>(
                                 std::chrono::duration<double>(m_options.monitors.windowSeconds));
    int64_t requests = 0;
    int64_t errors = 0;
    const std::vector<double> ms = latencies(since, &requests, &errors);
    const bool enough = requests >= m_options.monitors.minRequests;
    std::optional<double> values[4];
    if (enough && !ms.empty())
        values[Latency] = percentile(ms, 0.99);
    if (enough)
        values[ErrorRate] = double(errors) / double(requests);

    // The drift statistics only change with new samples; the ring is copied out so the
    // batcher is not held up while they are computed.
    const bool judgeDrift = m_ringCount == m_options.driftWindow && m_newSamples > 0;
    if (judgeDrift) {
        const std::vector<float> ring = m_ring;
        const std::vector<int32_t> classes = m_ringClasses;
        m_newSamples = 0;
        lock.unlock();
        values[InputDrift] = inputDrift(m_interface, ring.data(), int64_t(classes.size()));
        if (m_interface.classification()) {
            std::vector<float> shares(size_t(m_interface.outputs), 0.0f);
            for (int32_t c : classes)
                shares[size_t(c)] += 1.0f / float(classes.size());
            values[PredictionShift] = populationStability(m_interface.classPrior, shares);
        }
        lock.lock();
    }

    std::vector<std::pair<ServeAlert, std::string>> fired;
    for (Monitor& m : m_monitors) {
        ServeMonitorState& s = m.state;
        const bool drift = m.kind == InputDrift || m.kind == PredictionShift;
        if (drift && !judgeDrift)
            continue;   // keeps its last value and state until new samples arrive
        s.value = values[m.kind];
        if (!s.value || *s.value <= s.threshold) {
            s.firing = false;
            continue;
        }
        if (s.firing)
            continue;   // once per crossing
        s.firing = true;
        ServeAlert alert;
        alert.time = unixNow();
        alert.monitor = s.name;
        alert.value = *s.value;
        alert.threshold = s.threshold;
        alert.message = s.name + ": " + s.metric + " " + number(*s.value) + " > " + number(s.coefficient) + " x " +
                        number(s.baseline) + " = " + number(s.threshold);
        m_alerts.push_back(alert);
        if (m_alerts.size() > kKeptAlerts)
            m_alerts.pop_front();
        ++m_alertCounts[s.name];
        fired.emplace_back(alert, s.metric);
    }
    const AlertSink sink = m_sink;
    lock.unlock();
    for (const auto& [alert, metric] : fired) {
        std::fprintf(stderr, "%s serve alert %s\n", clockText(alert.time).c_str(), alert.message.c_str());
        if (sink)
            sink(alert, metric);
    }
}

ServeStats ServeMetrics::stats() const
{
    const auto now = Clock::now();
    std::lock_guard<std::mutex> lock(m_mutex);
    ServeStats s;
    s.runId = m_runId;
    s.uptimeSeconds = std::chrono::duration<double>(now - m_started).count();
    s.requestsTotal = m_requests;
    s.errorsTotal = m_errors;
    s.samplesTotal = m_samples;
    int64_t requests = 0;
    int64_t errors = 0;
    const std::vector<double> ms =
        latencies(now - std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(kStatsWindowSeconds)),
                  &requests, &errors);
    s.requestRate = double(requests) / std::max(1e-3, std::min(kStatsWindowSeconds, s.uptimeSeconds));
    s.latencyP50Ms = percentile(ms, 0.50);
    s.latencyP90Ms = percentile(ms, 0.90);
    s.latencyP99Ms = percentile(ms, 0.99);
    s.batches = m_batchCount;
    s.batchSizeMean = m_batchCount ? double(m_batchSum) / double(m_batchCount) : 0.0;
    for (const Monitor& m : m_monitors)
        s.monitors.push_back(m.state);
    s.alerts.assign(m_alerts.begin(), m_alerts.end());
    return s;
}

std::string ServeMetrics::prometheusText() const
{
    const ServeStats s = stats();
    std::lock_guard<std::mutex> lock(m_mutex);
    std::string out;
    header(out, "nnlab_model_info", "gauge", "The served run.");
    out += "nnlab_model_info{run=\"" + label(m_runId) + "\"} 1\n";
    header(out, "nnlab_uptime_seconds", "gauge", "Seconds since the server started.");
    out += "nnlab_uptime_seconds " + number(s.uptimeSeconds) + "\n";
    header(out, "nnlab_requests_total", "counter", "HTTP requests answered, by status code.");
    for (const auto& [code, count] : m_codes)
        out += "nnlab_requests_total{code=\"" + std::to_string(code) + "\"} " + std::to_string(count) + "\n";
    header(out, "nnlab_errors_total", "counter", "HTTP requests answered with a status >= 400.");
    out += "nnlab_errors_total " + std::to_string(m_errors) + "\n";
    header(out, "nnlab_samples_total", "counter", "Samples predicted.");
    out += "nnlab_samples_total " + std::to_string(m_samples) + "\n";
    header(out, "nnlab_request_duration_seconds", "histogram", "Time to handle a POST /v1/predict request.");
    histogram(out, "nnlab_request_duration_seconds", m_durationBounds, m_durationBuckets, m_durationSum,
              m_durationCount);
    header(out, "nnlab_batch_size", "histogram", "Samples per model call (dynamic batching).");
    histogram(out, "nnlab_batch_size", m_batchBounds, m_batchBuckets, double(m_batchSum), m_batchCount);

    auto monitorValue = [&](const char* name) {
        for (const ServeMonitorState& m : s.monitors)
            if (m.name == name && m.value)
                return *m.value;
        return std::numeric_limits<double>::quiet_NaN();
    };
    header(out, "nnlab_input_drift", "gauge",
           "Mean PSI of the last drift-window samples against the training inputs (NaN until the window is full).");
    out += "nnlab_input_drift " + number(monitorValue("input_drift")) + "\n";
    header(out, "nnlab_prediction_shift", "gauge",
           "PSI of the drift window's predicted-class shares against the training labels' (NaN until full).");
    out += "nnlab_prediction_shift " + number(monitorValue("prediction_shift")) + "\n";
    header(out, "nnlab_monitor_value", "gauge", "Each monitor's last judged value (NaN until judged).");
    for (const ServeMonitorState& m : s.monitors)
        out += "nnlab_monitor_value{monitor=\"" + m.name + "\"} " +
               number(m.value.value_or(std::numeric_limits<double>::quiet_NaN())) + "\n";
    header(out, "nnlab_monitor_threshold", "gauge", "Each monitor's threshold: coefficient x baseline.");
    for (const ServeMonitorState& m : s.monitors)
        out += "nnlab_monitor_threshold{monitor=\"" + m.name + "\"} " + number(m.threshold) + "\n";
    header(out, "nnlab_monitor_firing", "gauge", "1 while a monitor's value is over its threshold.");
    for (const ServeMonitorState& m : s.monitors)
        out += "nnlab_monitor_firing{monitor=\"" + m.name + "\"} " + (m.firing ? "1" : "0") + "\n";
    header(out, "nnlab_alerts_total", "counter", "Alerts fired, by monitor.");
    for (const ServeMonitorState& m : s.monitors) {
        const auto count = m_alertCounts.find(m.name);
        out += "nnlab_alerts_total{monitor=\"" + m.name + "\"} " +
               std::to_string(count == m_alertCounts.end() ? 0 : count->second) + "\n";
    }
    return out;
}

} // namespace nnlab::serve
