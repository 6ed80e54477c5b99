// The HTTP side of the server: routes, errors as JSON, the listener and monitor threads.
// Parsing is in request_parse, batching in batcher, counting and monitors in serve_metrics.
#include "nnlab/serve.h"

#include "alert_webhook.h"
#include "batcher.h"
#include "request_parse.h"
#include "serve_metrics.h"

#include "nnlab/model_info.h"
#include "nnlab/trained_model.h"

#include <httplib.h>
#include <nlohmann/json.hpp>

#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <stdexcept>
#include <thread>
#include <utility>

namespace nnlab {

namespace {

using Clock = std::chrono::steady_clock;
using nlohmann::json;
using serve::BadRequest;

const char* kEndpoints = "POST /v1/predict, GET /healthz, GET /v1/model, GET /v1/stats, GET /metrics";

// When the current thread's request reached routing; the logger turns it into a duration.
// httplib handles one request on one thread from routing to logging.
thread_local std::optional<Clock::time_point> t_requestStart;

void answerError(httplib::Response& res, int status, const std::string& message)
{
    res.status = status;
    // The message may quote the request's own bytes, which need not be UTF-8.
    res.set_content(json{{"error", message}}.dump(-1, ' ', false, json::error_handler_t::replace), "application/json");
}

std::string statusText(const httplib::Request& req, int status, int64_t maxBody)
{
    switch (status) {
    case 400: return "bad request: not a valid HTTP request";
    case 404: return "no such endpoint: " + req.method + " " + req.path + "; the endpoints are " + kEndpoints;
    case 405: return "method " + req.method + " not allowed on " + req.path;
    case 413: return "request body too large: at most " + std::to_string(maxBody) + " bytes";
    case 414: return "request URI too long";
    case 415: return "unsupported content type";
    default: return "HTTP status " + std::to_string(status);
    }
}

std::string modelJson(const TrainedWeights& w, const ModelInterface& m)
{
    Problems problems;
    const ModelInfo info = inspectModel(w.spec.model, problems);
    json accepts = json::array({"application/json"});
    if (m.images && m.sampleShape.size() == 3 && (m.sampleShape[0] == 1 || m.sampleShape[0] == 3)) {
        accepts.push_back("image/png");
        accepts.push_back("image/jpeg");
    }
    return json{{"run", w.runId},
                {"name", w.runName},
                {"input_shape", m.sampleShape},
                {"images", m.images},
                {"classes", m.classNames},
                {"outputs", m.outputs},
                {"task", m.classification() ? "classification" : "regression"},
                {"normalization", {{"shift", m.inputShift}, {"scale", m.inputScale}}},
                {"raw_mean", m.rawMean},
                {"raw_std", m.rawStd},
                {"parameters", info.parameters},
                {"accepts", accepts}}
        .dump();
}

// httplib listens with a backlog of 5: a burst of new connections (32 clients starting at
// once) overflows it, and the dropped handshakes stall clients for seconds. Listening again on
// the bound socket raises the backlog (Linux keeps the socket, only the queue length changes).
class HttpServer : public httplib::Server {
public:
    void widenBacklog() { ::listen(svr_sock_, SOMAXCONN); }
};

} // namespace

struct InferenceServer::Impl {
    Impl(const TrainedWeights& weights, ServeOptions o)
        : options(std::move(o)), runId(weights.runId), predictor(weights, options.threads),
          model(modelJson(weights, predictor.interface()))
    {
    }

    void routes();
    void handlePredict(const httplib::Request& req, httplib::Response& res);
    double probeLatencyMs();
    void monitorLoop();

    const ServeOptions options;
    const std::string runId;
    Predictor predictor;
    const std::string model;   // the /v1/model answer

    std::unique_ptr<serve::Batcher> batcher;
    std::unique_ptr<serve::ServeMetrics> metrics;
    std::unique_ptr<serve::AlertWebhook> webhook;
    HttpServer http;
    std::thread listener;
    std::thread monitor;
    int port = 0;
    bool started = false;

    std::mutex stopMutex;
    std::condition_variable stopWake;
    bool stopping = false;
};

void InferenceServer::Impl::handlePredict(const httplib::Request& req, httplib::Response& res)
{
    const ModelInterface& m = predictor.interface();
    // Tells the batcher this request is on its way until its samples are queued (or refused).
    struct Arriving {
        serve::Batcher& batcher;
        bool done = false;
        explicit Arriving(serve::Batcher& b) : batcher(b) { batcher.arriving(); }
        void arrived()
        {
            if (!std::exchange(done, true))
                batcher.arrived();
        }
        ~Arriving() { arrived(); }
    } arriving(*batcher);
    try {
        const std::string type = serve::mediaType(req.get_header_value("Content-Type"));
        serve::RawSamples samples;
        if (type == "image/png" || type == "image/jpeg")
            samples = serve::decodeImage(req.body, m);
        else if (type.empty() || type == "application/json")
            samples = serve::parseJsonInputs(req.body, m, options.maxSamplesPerRequest);
        else
            throw BadRequest(415, "Content-Type '" + type +
                                      "' not accepted: send application/json {\"inputs\": [...]}" +
                                      (m.images ? " or an image/png or image/jpeg image" : ""));
        arriving.arrived();
        const std::vector<float> outputs = batcher->predict(samples.values.data(), samples.count);
        const int64_t k = predictor.outputs();
        json rows = json::array();
        json classes = json::array();
        for (int64_t i = 0; i < samples.count; ++i) {
            const float* row = outputs.data() + i * k;
            rows.push_back(std::vector<float>(row, row + k));
            if (m.classification())
                classes.push_back(m.classNames[size_t(std::max_element(row, row + k) - row)]);
        }
        json answer = {{"outputs", std::move(rows)}, {"model", runId}};
        if (m.classification())
            answer["classes"] = std::move(classes);
        res.set_content(answer.dump(), "application/json");
    } catch (const BadRequest& e) {
        answerError(res, e.status(), e.what());
    } catch (const std::exception& e) {
        answerError(res, 503, e.what());
    }
}

void InferenceServer::Impl::routes()
{
    http.set_socket_options([](socket_t sock) {
        // httplib's default adds SO_REUSEPORT, which would let a second server share a port in
        // use instead of refusing it.
        int yes = 1;
        setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    });
    http.new_task_queue = [n = options.httpThreads] { return new httplib::ThreadPool(size_t(n)); };
    http.set_payload_max_length(size_t(options.maxBodyBytes));
    http.set_keep_alive_max_count(10000);
    // Small JSON answers: without it Nagle's algorithm and delayed ACKs add ~40 ms to each.
    http.set_tcp_nodelay(true);
    http.set_read_timeout(10, 0);
    http.set_write_timeout(10, 0);

    http.set_pre_routing_handler([](const httplib::Request&, httplib::Response&) {
        t_requestStart = Clock::now();
        return httplib::Server::HandlerResponse::Unhandled;
    });
    http.set_logger([this](const httplib::Request& req, const httplib::Response& res) {
        std::optional<double> seconds;
        if (t_requestStart)
            seconds = std::chrono::duration<double>(Clock::now() - *t_requestStart).count();
        t_requestStart.reset();
        metrics->recordRequest(req.method, req.path, res.status, seconds);
    });
    http.set_error_handler(httplib::Server::HandlerWithResponse([this](const httplib::Request& req,
                                                                       httplib::Response& res) {
        if (!res.body.empty())
            return httplib::Server::HandlerResponse::Unhandled;   // a handler's own JSON error
        answerError(res, res.status, statusText(req, res.status, options.maxBodyBytes));
        return httplib::Server::HandlerResponse::Handled;
    }));
    http.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
        std::string what = "unknown error";
        try {
            std::rethrow_exception(ep);
        } catch (const std::exception& e) {
            what = e.what();
        } catch (...) {
        }
        answerError(res, 500, "internal error: " + what);
    });

    http.Post("/v1/predict", [this](const httplib::Request& req, httplib::Response& res) { handlePredict(req, res); });
    const auto postOnly = [](const httplib::Request& req, httplib::Response& res) {
        answerError(res, 405, "method " + req.method + " not allowed on /v1/predict: use POST");
    };
    http.Get("/v1/predict", postOnly);
    http.Put("/v1/predict", postOnly);
    http.Patch("/v1/predict", postOnly);
    http.Delete("/v1/predict", postOnly);
    http.Get("/healthz", [this](const httplib::Request&, httplib::Response& res) {
        res.set_content(json{{"status", "ok"}, {"run", runId}}.dump(), "application/json");
    });
    http.Get("/v1/model", [this](const httplib::Request&, httplib::Response& res) {
        res.set_content(model, "application/json");
    });
    http.Get("/v1/stats", [this](const httplib::Request&, httplib::Response& res) {
        res.set_content(statsToJson(metrics->stats()), "application/json");
    });
    http.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
        res.set_content(metrics->prometheusText(), "text/plain; version=0.0.4; charset=utf-8");
    });
}

// The latency monitor's baseline, before the wait batching may add: p99 of single-sample
// predictions through the batcher after a warm-up, on a sample at the training inputs' mean.
double InferenceServer::Impl::probeLatencyMs()
{
    const ModelInterface& m = predictor.interface();
    std::vector<float> sample(size_t(m.sampleSize()), 0.0f);
    for (int64_t i = 0; i < m.sampleSize(); ++i) {
        const int64_t unit = m.unitOf(i);
        if (unit < int64_t(m.rawMean.size()))
            sample[size_t(i)] = m.rawMean[size_t(unit)];
    }
    for (int i = 0; i < 10; ++i)
        batcher->predict(sample.data(), 1);
    std::vector<double> ms;
    for (int i = 0; i < 100; ++i) {
        const auto start = Clock::now();
        batcher->predict(sample.data(), 1);
        ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
    }
    std::sort(ms.begin(), ms.end());
    return ms[98];   // the 99th of 100
}

void InferenceServer::Impl::monitorLoop()
{
    std::unique_lock<std::mutex> lock(stopMutex);
    while (!stopping) {
        stopWake.wait_for(lock, std::chrono::milliseconds(options.monitors.intervalMs));
        if (stopping)
            break;
        lock.unlock();
        metrics->evaluate();
        lock.lock();
    }
}

InferenceServer::InferenceServer(const TrainedWeights& weights, ServeOptions options)
    : m_impl(std::make_unique<Impl>(weights, std::move(options)))
{
}

InferenceServer::~InferenceServer() { stop(); }

void InferenceServer::start()
{
    Impl& d = *m_impl;
    if (d.started)
        throw std::runtime_error("serve: the server is already started");
    const std::string problems = checkServeOptions(d.options);
    if (!problems.empty())
        throw std::runtime_error("serve: " + problems.substr(0, problems.size() - 1));
    d.batcher = std::make_unique<serve::Batcher>(d.predictor, d.options.maxBatch,
                                                 std::chrono::milliseconds(d.options.maxWaitMs));
    d.metrics = std::make_unique<serve::ServeMetrics>(d.predictor.interface(), d.options, d.runId);
    if (d.options.monitors.enabled && d.options.monitors.latency > 0.0)
        d.metrics->setLatencyBaseline(d.probeLatencyMs() + double(d.options.maxWaitMs));
    d.batcher->setObserver([metrics = d.metrics.get()](const float* raw, const float* outputs, int64_t count) {
        metrics->recordBatch(raw, outputs, count);
    });
    if (!d.options.webhookUrl.empty()) {
        std::string error;
        d.webhook = std::make_unique<serve::AlertWebhook>(*serve::parseWebhookUrl(d.options.webhookUrl, error), d.runId);
        d.metrics->setAlertSink([webhook = d.webhook.get()](const ServeAlert& alert, const std::string& metric) {
            webhook->post(alert, metric);
        });
    }
    d.routes();
    if (d.options.port == 0) {
        d.port = d.http.bind_to_any_port(d.options.host);
        if (d.port <= 0)
            throw std::runtime_error("serve: cannot listen on " + d.options.host + ": no free port, or not an address here");
    } else {
        if (!d.http.bind_to_port(d.options.host, d.options.port))
            throw std::runtime_error("serve: cannot listen on " + d.options.host + ":" + std::to_string(d.options.port) +
                                     ": the port is in use (or the address is not this machine's); "
                                     "choose another with --port, or --port 0 for a free one");
        d.port = d.options.port;
    }
    d.http.widenBacklog();
    d.started = true;
    d.listener = std::thread([&d] { d.http.listen_after_bind(); });
    // stop() must not race the listener's start, or listen_after_bind would never return.
    while (!d.http.is_running())
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    if (d.options.monitors.enabled)
        d.monitor = std::thread([&d] { d.monitorLoop(); });
}

int InferenceServer::port() const { return m_impl->port; }

void InferenceServer::stop()
{
    Impl& d = *m_impl;
    {
        std::lock_guard<std::mutex> lock(d.stopMutex);
        if (d.stopping)
            return;
        d.stopping = true;
    }
    d.stopWake.notify_all();
    if (d.monitor.joinable())
        d.monitor.join();
    if (d.started)
        d.http.stop();
    if (d.listener.joinable())
        d.listener.join();
    if (d.batcher)
        d.batcher->stop();
    d.webhook.reset();   // sends what is queued
}

ServeStats InferenceServer::stats() const
{
    if (!m_impl->metrics) {
        ServeStats stats;
        stats.runId = m_impl->runId;
        return stats;
    }
    return m_impl->metrics->stats();
}

void InferenceServer::evaluateMonitorsNow()
{
    if (m_impl->metrics)
        m_impl->metrics->evaluate();
}

} // namespace nnlab
