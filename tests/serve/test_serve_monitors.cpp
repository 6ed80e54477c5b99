// Monitors on live traffic: the test set's raw images, window after window, do not fire the
// drift monitors; the same images brightened or inverted do, seen in /v1/stats, in /metrics
// and by a webhook; a burst of failing requests fires the error-rate monitor.
#include "serve_test_util.h"

#include <QTemporaryDir>

#include <condition_variable>
#include <mutex>
#include <thread>

using namespace nnlab;
using namespace nnlab::servetest;

namespace {

const ServeMonitorState& monitor(const ServeStats& stats, const std::string& name)
{
    for (const ServeMonitorState& m : stats.monitors)
        if (m.name == name)
            return m;
    qFatal("no monitor %s", name.c_str());
}

// Sends samples [first, first + count) of `set` in requests of 100.
void send(httplib::Client& client, const Dataset& set, int64_t first, int64_t count)
{
    for (int64_t at = first; at < first + count; at += 100) {
        const auto result = client.Post("/v1/predict", inputsJson(set, at, std::min<int64_t>(100, first + count - at), true),
                                         "application/json");
        if (!result || result->status != 200)
            qFatal("prediction failed: %s", result ? result->body.c_str() : "no answer");
    }
}

Dataset transformed(const Dataset& set, float (*f)(float))
{
    Dataset out = set;
    for (float& v : out.features)
        v = f(v);
    return out;
}

float brighten(float v) { return std::min(255.0f, v + 60.0f); }
float invert(float v) { return 255.0f - v; }

double metric(const std::string& text, const std::string& key)
{
    const size_t at = text.find("\n" + key + " ");
    if (at == std::string::npos)
        qFatal("no %s in /metrics", key.c_str());
    return std::stod(text.substr(at + key.size() + 2));
}

} // namespace

class TestServeMonitors : public QObject {
    Q_OBJECT

private slots:
    void initTestCase()
    {
        QVERIFY(m_dir.isValid());
        m_weights = trainedWeights(m_dir.filePath("runs.db").toStdString());
        m_test = rawTestSet();
    }

    void theTestSetDoesNotFireTheDriftMonitors()
    {
        auto server = startServer(m_weights, testOptions());
        httplib::Client client("127.0.0.1", server->port());
        send(client, m_test, 0, 400);
        server->evaluateMonitorsNow();
        QVERIFY(!monitor(server->stats(), "input_drift").value);   // the window is not full yet
        // Every window judged first, then checked, so a failure shows the whole distribution.
        std::vector<double> drifts;
        std::vector<double> shifts;
        QString windows;
        bool fired = false;
        for (int64_t window = 0; window < 20; ++window) {
            send(client, m_test, window * 500, 500);
            server->evaluateMonitorsNow();
            const ServeStats stats = server->stats();
            const ServeMonitorState& drift = monitor(stats, "input_drift");
            const ServeMonitorState& shift = monitor(stats, "prediction_shift");
            QVERIFY(drift.value && shift.value);
            drifts.push_back(*drift.value / drift.baseline);
            shifts.push_back(*shift.value / shift.baseline);
            windows += QString(" %1/%2").arg(drifts.back(), 0, 'f', 1).arg(shifts.back(), 0, 'f', 1);
            fired = fired || drift.firing || shift.firing;
        }
        qInfo("20 test-set windows of 500, input drift / prediction shift as multiples of their baselines:%s",
              qPrintable(windows));
        qInfo("worst: input drift %.2f x (fires above %.1f x), prediction shift %.2f x (fires above %.1f x)",
              *std::max_element(drifts.begin(), drifts.end()), ServeMonitorOptions().inputDrift,
              *std::max_element(shifts.begin(), shifts.end()), ServeMonitorOptions().predictionShift);
        QVERIFY(!fired);
        for (const ServeAlert& alert : server->stats().alerts)
            QVERIFY2(alert.monitor != "input_drift" && alert.monitor != "prediction_shift", alert.message.c_str());
    }

    void shiftedInputsFireAndClear()
    {
        auto server = startServer(m_weights, testOptions());
        httplib::Client client("127.0.0.1", server->port());
        const Dataset brighter = transformed(m_test, brighten);
        send(client, brighter, 0, 500);
        server->evaluateMonitorsNow();
        ServeStats stats = server->stats();
        const ServeMonitorState& drift = monitor(stats, "input_drift");
        qInfo("brightened +60: input drift %.4f = %.1f x baseline; prediction shift %.4f = %.1f x baseline", *drift.value,
              *drift.value / drift.baseline, *monitor(stats, "prediction_shift").value,
              *monitor(stats, "prediction_shift").value / monitor(stats, "prediction_shift").baseline);
        QVERIFY(drift.firing);
        QCOMPARE(stats.alerts.size() >= 1, true);
        QVERIFY(std::any_of(stats.alerts.begin(), stats.alerts.end(), [](const ServeAlert& a) {
            return a.monitor == "input_drift" && a.value > a.threshold && a.time > 1.6e9;
        }));
        std::string metrics = client.Get("/metrics")->body;
        QCOMPARE(metric(metrics, "nnlab_monitor_firing{monitor=\"input_drift\"}"), 1.0);
        QCOMPARE(metric(metrics, "nnlab_alerts_total{monitor=\"input_drift\"}"), 1.0);
        QVERIFY(metric(metrics, "nnlab_input_drift") > metric(metrics, "nnlab_monitor_threshold{monitor=\"input_drift\"}"));
        const auto json = jsonOf(client.Get("/v1/stats"));
        QVERIFY(std::any_of(json["monitors"].begin(), json["monitors"].end(), [](const nlohmann::json& m) {
            return m["name"] == "input_drift" && m["firing"] == true;
        }));

        // Normal traffic again: the alert clears, and does not fire again while under.
        send(client, m_test, 0, 500);
        server->evaluateMonitorsNow();
        server->evaluateMonitorsNow();
        QVERIFY(!monitor(server->stats(), "input_drift").firing);

        // Inverted images: the inputs and the predicted classes both shift; a new crossing.
        send(client, transformed(m_test, invert), 500, 500);
        server->evaluateMonitorsNow();
        stats = server->stats();
        const ServeMonitorState& shift = monitor(stats, "prediction_shift");
        qInfo("inverted: input drift %.4f = %.1f x baseline; prediction shift %.4f = %.1f x baseline",
              *monitor(stats, "input_drift").value, *monitor(stats, "input_drift").value / monitor(stats, "input_drift").baseline,
              *shift.value, *shift.value / shift.baseline);
        QVERIFY(monitor(stats, "input_drift").firing);
        QVERIFY(shift.firing);
        metrics = client.Get("/metrics")->body;
        QCOMPARE(metric(metrics, "nnlab_alerts_total{monitor=\"input_drift\"}"), 2.0);
        // Twice: the brightened images moved the predicted classes too (23x its baseline).
        QCOMPARE(metric(metrics, "nnlab_alerts_total{monitor=\"prediction_shift\"}"), 2.0);
        QCOMPARE(metric(metrics, "nnlab_monitor_firing{monitor=\"prediction_shift\"}"), 1.0);
    }

    void failingRequestsFireTheErrorRateMonitor()
    {
        auto server = startServer(m_weights, testOptions());
        httplib::Client client("127.0.0.1", server->port());
        client.set_keep_alive(true);
        for (int i = 0; i < 10; ++i)
            QCOMPARE(client.Post("/v1/predict", inputsJson(m_test, i, 1), "application/json")->status, 200);
        server->evaluateMonitorsNow();
        QVERIFY(!monitor(server->stats(), "error_rate").value);   // fewer than minRequests
        for (int i = 0; i < 15; ++i)
            QCOMPARE(client.Post("/v1/predict", "{\"inputs\": [[1, 2]]}", "application/json")->status, 400);
        // A request is counted just after its answer is sent; on a keep-alive connection, before
        // the next one is read.
        QCOMPARE(client.Get("/healthz")->status, 200);
        server->evaluateMonitorsNow();
        const ServeStats stats = server->stats();   // `errors` refers into it: keep it alive
        const ServeMonitorState& errors = monitor(stats, "error_rate");
        QVERIFY(errors.value);
        QCOMPARE(*errors.value, 15.0 / 25.0);
        QVERIFY(errors.firing);
        QCOMPARE(errors.threshold, 0.05);
    }

    void aWebhookReceivesTheAlert()
    {
        httplib::Server receiver;
        std::mutex mutex;
        std::condition_variable arrived;
        std::vector<std::string> bodies;
        receiver.Post("/alerts", [&](const httplib::Request& req, httplib::Response& res) {
            std::lock_guard<std::mutex> lock(mutex);
            bodies.push_back(req.body);
            arrived.notify_all();
            res.set_content("{}", "application/json");
        });
        const int port = receiver.bind_to_any_port("127.0.0.1");
        QVERIFY(port > 0);
        std::thread listening([&] { receiver.listen_after_bind(); });

        ServeOptions options = testOptions();
        options.webhookUrl = "http://127.0.0.1:" + std::to_string(port) + "/alerts";
        auto server = startServer(m_weights, options);
        httplib::Client client("127.0.0.1", server->port());
        send(client, transformed(m_test, invert), 0, 500);
        server->evaluateMonitorsNow();
        {
            std::unique_lock<std::mutex> lock(mutex);
            // Waits for the delivery, not a time limit on it: generous for a loaded machine.
            arrived.wait_for(lock, std::chrono::seconds(30), [&] { return bodies.size() >= 2; });
        }
        server->stop();
        receiver.stop();
        listening.join();
        QCOMPARE(bodies.size(), size_t(2));   // input_drift and prediction_shift, once each
        std::set<std::string> monitors;
        for (const std::string& body : bodies) {
            const auto alert = nlohmann::json::parse(body);
            QCOMPARE(alert["run"].get<std::string>(), m_weights.runId);
            QVERIFY(alert["value"].get<double>() > alert["threshold"].get<double>());
            QVERIFY(!alert["message"].get<std::string>().empty());
            monitors.insert(alert["monitor"].get<std::string>());
        }
        QCOMPARE(monitors, (std::set<std::string>{"input_drift", "prediction_shift"}));
    }

private:
    QTemporaryDir m_dir;
    TrainedWeights m_weights;
    Dataset m_test;
};

QTEST_APPLESS_MAIN(TestServeMonitors)
#include "test_serve_monitors.moc"
