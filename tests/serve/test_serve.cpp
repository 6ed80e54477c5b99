// The inference server end to end over loopback HTTP: its predictions are the Predictor's,
// images are decoded into the model's input, concurrent clients get their own rows back from
// shared batches, /metrics is valid Prometheus text that counts requests, and bad options
// (a remote webhook, a port in use) are refused with a message.
#include "serve_test_util.h"

#include <QTemporaryDir>

#include <stb_image_write.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

using namespace nnlab;
using namespace nnlab::servetest;

namespace {

void appendBytes(void* context, void* data, int size)
{
    static_cast<std::string*>(context)->append(static_cast<const char*>(data), size_t(size));
}

// A PNG of `pixels` (w x h x channels, 0..255).
std::string png(const std::vector<unsigned char>& pixels, int w, int h, int channels)
{
    std::string bytes;
    stbi_write_png_to_func(appendBytes, &bytes, w, h, channels, pixels.data(), w * channels);
    return bytes;
}

void compareRows(const nlohmann::json& outputs, const std::vector<float>& expected, int64_t k, double tolerance)
{
    QCOMPARE(int64_t(outputs.size() * size_t(k)), int64_t(expected.size()));
    for (size_t i = 0; i < outputs.size(); ++i) {
        QCOMPARE(int64_t(outputs[i].size()), k);
        for (int64_t j = 0; j < k; ++j) {
            const double got = outputs[i][size_t(j)].get<double>();
            const double want = expected[i * size_t(k) + size_t(j)];
            if (std::abs(got - want) > tolerance)
                QFAIL(qPrintable(QString("row %1, output %2: %3, expected %4").arg(i).arg(j).arg(got).arg(want)));
        }
    }
}

// Prometheus text: each sample line's value, keyed by "name{labels}" as written.
std::map<std::string, double> parsePrometheus(const std::string& text)
{
    static const std::regex sample(R"(^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*")"
                                   R"((?:,[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*")*\})? ([^ ]+)$)");
    static const std::regex type(R"(^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$)");
    std::map<std::string, double> values;
    std::set<std::string> typed;
    std::istringstream lines(text);
    std::string line;
    while (std::getline(lines, line)) {
        std::smatch m;
        if (std::regex_match(line, m, type)) {
            typed.insert(m[1]);
            continue;
        }
        if (line.rfind("# HELP ", 0) == 0)
            continue;
        if (!std::regex_match(line, m, sample)) {
            QTest::qFail(("not a Prometheus line: " + line).c_str(), __FILE__, __LINE__);
            return {};
        }
        const std::string name = m[1];
        const std::string family = std::regex_replace(name, std::regex("_(bucket|sum|count)$"), "");
        if (!typed.count(name) && !typed.count(family)) {
            QTest::qFail(("no # TYPE before " + name).c_str(), __FILE__, __LINE__);
            return {};
        }
        const std::string v = m[3];
        values[name + std::string(m[2])] = v == "NaN" ? NAN : v == "+Inf" ? INFINITY : std::stod(v);
    }
    return values;
}

} // namespace

class TestServe : public QObject {
    Q_OBJECT

private slots:
    void initTestCase()
    {
        QVERIFY(m_dir.isValid());
        m_weights = trainedWeights(m_dir.filePath("runs.db").toStdString());
        m_predictor = std::make_unique<Predictor>(m_weights, 1);
        m_test = rawTestSet();
        QCOMPARE(m_test.count(), int64_t(10000));
        ServeOptions options = testOptions();
        options.maxWaitMs = 20;   // concurrent requests land in shared batches
        m_server = startServer(m_weights, options);
        QVERIFY(m_server->port() > 0);
    }

    void predictionsAreThePredictors()
    {
        httplib::Client client("127.0.0.1", m_server->port());
        // Nested [1][28][28] samples and flat lists of 784 numbers are both accepted.
        for (bool flat : {false, true}) {
            const auto answer = jsonOf(client.Post("/v1/predict", inputsJson(m_test, 10, 6, flat), "application/json"));
            QVERIFY2(answer.contains("outputs"), answer.dump().c_str());
            const std::vector<float> expected = m_predictor->predict(m_test.features.data() + 10 * 784, 6);
            compareRows(answer["outputs"], expected, 10, 1e-5);
            QCOMPARE(answer["model"].get<std::string>(), m_weights.runId);
            for (int i = 0; i < 6; ++i) {
                const float* row = expected.data() + i * 10;
                const auto top = size_t(std::max_element(row, row + 10) - row);
                QCOMPARE(answer["classes"][size_t(i)].get<std::string>(), m_weights.interface.classNames[top]);
            }
        }
        const auto model = jsonOf(client.Get("/v1/model"));
        QCOMPARE(model["run"].get<std::string>(), m_weights.runId);
        QCOMPARE(model["input_shape"].get<std::vector<int64_t>>(), (std::vector<int64_t>{1, 28, 28}));
        QCOMPARE(model["classes"].size(), size_t(10));
        QCOMPARE(model["parameters"].get<int64_t>(), int64_t(784 * 64 + 64 + 64 * 10 + 10));
        QCOMPARE(jsonOf(client.Get("/healthz"))["status"].get<std::string>(), std::string("ok"));
    }

    void imagesAreDecodedIntoTheModelsInput()
    {
        httplib::Client client("127.0.0.1", m_server->port());
        const float* x = m_test.features.data() + 3 * 784;
        const std::vector<unsigned char> gray(x, x + 784);
        const std::vector<float> expected = m_predictor->predict(x, 1);
        // A 28x28 grayscale PNG is exactly the test image: lossless, same pixel values.
        const auto exact = jsonOf(client.Post("/v1/predict", png(gray, 28, 28, 1), "image/png"));
        QVERIFY2(exact.contains("outputs"), exact.dump().c_str());
        compareRows(exact["outputs"], expected, 10, 1e-5);
        // The same image as RGB at twice the size: converted to gray and resized, same class.
        std::vector<unsigned char> rgb;
        for (int r = 0; r < 56; ++r)
            for (int c = 0; c < 56; ++c)
                for (int ch = 0; ch < 3; ++ch)
                    rgb.push_back(gray[size_t((r / 2) * 28 + c / 2)]);
        const auto resized = jsonOf(client.Post("/v1/predict", png(rgb, 56, 56, 3), "image/png"));
        QVERIFY2(resized.contains("classes"), resized.dump().c_str());
        QCOMPARE(resized["classes"][0], exact["classes"][0]);
        // Bytes that are no image.
        const auto broken = client.Post("/v1/predict", std::string("\x89PNG\r\n\x1a\nbroken", 14), "image/png");
        QVERIFY(broken && broken->status == 400);
        QVERIFY2(jsonOf(broken)["error"].get<std::string>().find("image") != std::string::npos, broken->body.c_str());
    }

    void concurrentClientsGetTheirOwnRows()
    {
        const int clients = 16;
        const int requests = 12;
        const std::vector<float> expected = m_predictor->predict(m_test.features.data(), 1000);
        std::atomic<int> wrong{0};
        std::atomic<int> failed{0};
        std::vector<std::thread> threads;
        for (int c = 0; c < clients; ++c)
            threads.emplace_back([&, c] {
                httplib::Client client("127.0.0.1", m_server->port());
                for (int r = 0; r < requests; ++r) {
                    // Each request its own samples: 1..3 of them at a place no other request uses.
                    const int64_t first = (c * requests + r) * 4;
                    const int64_t count = 1 + (c + r) % 3;
                    const auto result = client.Post("/v1/predict", inputsJson(m_test, first, count), "application/json");
                    if (!result || result->status != 200) {
                        ++failed;
                        continue;
                    }
                    const auto outputs = nlohmann::json::parse(result->body)["outputs"];
                    for (int64_t i = 0; i < count; ++i)
                        for (size_t j = 0; j < 10; ++j)
                            if (outputs.size() != size_t(count) ||
                                std::abs(outputs[size_t(i)][j].get<double>() - expected[size_t((first + i) * 10) + j]) > 1e-4)
                                ++wrong;
                }
            });
        for (auto& t : threads)
            t.join();
        QCOMPARE(failed.load(), 0);
        QCOMPARE(wrong.load(), 0);
        const ServeStats stats = m_server->stats();
        qInfo("%lld model calls, mean batch %.2f samples", static_cast<long long>(stats.batches), stats.batchSizeMean);
        QVERIFY2(stats.batchSizeMean > 1.0, qPrintable(QString::number(stats.batchSizeMean)));
    }

    void metricsAreValidPrometheusTextAndCountRequests()
    {
        // One keep-alive connection: each request is counted before the next one is read.
        httplib::Client client("127.0.0.1", m_server->port());
        client.set_keep_alive(true);
        // cpp-httplib counts a request after its answer is sent, so the previous test's last
        // requests may still be counted late: scrape until two scrapes differ by only the first.
        std::map<std::string, double> before = parsePrometheus(client.Get("/metrics")->body);
        for (int attempt = 0; attempt < 100; ++attempt) {
            auto next = parsePrometheus(client.Get("/metrics")->body);
            const bool settled = next.at("nnlab_requests_total{code=\"200\"}") -
                                     before.at("nnlab_requests_total{code=\"200\"}") == 1.0;
            before = std::move(next);
            if (settled)
                break;
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
        for (int i = 0; i < 5; ++i)
            QCOMPARE(client.Post("/v1/predict", inputsJson(m_test, i, 2), "application/json")->status, 200);
        QCOMPARE(client.Get("/nowhere")->status, 404);
        const auto result = client.Get("/metrics");
        QVERIFY(result->get_header_value("Content-Type").find("version=0.0.4") != std::string::npos);
        const auto after = parsePrometheus(result->body);
        // The five predictions and the first scrape answered 200, the unknown path 404.
        QCOMPARE(after.at("nnlab_requests_total{code=\"200\"}") - before.at("nnlab_requests_total{code=\"200\"}"), 6.0);
        const std::string notFound = "nnlab_requests_total{code=\"404\"}";
        QCOMPARE(after.at(notFound) - (before.count(notFound) ? before.at(notFound) : 0.0), 1.0);
        QCOMPARE(after.at("nnlab_samples_total") - before.at("nnlab_samples_total"), 10.0);
        QCOMPARE(after.at("nnlab_request_duration_seconds_count") - before.at("nnlab_request_duration_seconds_count"), 5.0);
        // Histograms: cumulative buckets, +Inf equal to the count.
        for (const std::string histogram : {"nnlab_request_duration_seconds", "nnlab_batch_size"}) {
            double last = 0.0;
            for (const auto& [key, value] : after)
                if (key.rfind(histogram + "_bucket{", 0) == 0 && key.find("+Inf") == std::string::npos) {
                    QVERIFY(value >= 0);
                    last = std::max(last, value);
                }
            QCOMPARE(after.at(histogram + "_bucket{le=\"+Inf\"}"), after.at(histogram + "_count"));
            QVERIFY(last <= after.at(histogram + "_count"));
        }
        for (const char* monitor : {"latency", "error_rate", "input_drift", "prediction_shift"}) {
            const std::string key = std::string("nnlab_monitor_threshold{monitor=\"") + monitor + "\"}";
            QVERIFY2(after.count(key) && after.at(key) > 0, key.c_str());
        }
        // /v1/stats in the schema the desktop reads.
        const auto stats = jsonOf(client.Get("/v1/stats"));
        for (const char* key : {"run", "uptime_s", "requests_total", "errors_total", "samples_total", "request_rate",
                                "latency_ms", "batch_size_mean", "monitors", "alerts"})
            QVERIFY2(stats.contains(key), key);
        QVERIFY(stats["latency_ms"].contains("p99") && stats["latency_ms"]["p99"].get<double>() > 0);
        QCOMPARE(stats["monitors"].size(), size_t(4));
        QVERIFY(stats["request_rate"].get<double>() > 0);
    }

    void badOptionsAreRefused()
    {
        ServeOptions options = testOptions();
        options.monitors.enabled = false;
        for (const char* url : {"http://example.com/hook", "https://127.0.0.1/hook", "http://127.0.0.1.evil.net/x",
                                "ftp://localhost/", "http://localhost:99999/"}) {
            options.webhookUrl = url;
            InferenceServer server(m_weights, options);
            try {
                server.start();
                QFAIL(qPrintable(QString("webhook %1 accepted").arg(url)));
            } catch (const std::runtime_error& e) {
                QVERIFY2(std::string(e.what()).find("webhook") != std::string::npos, e.what());
            }
        }
        options.webhookUrl = "http://localhost:9/alerts";
        QVERIFY(checkServeOptions(options).empty());
        options.webhookUrl.clear();
        options.port = m_server->port();   // in use
        InferenceServer second(m_weights, options);
        try {
            second.start();
            QFAIL("a second server started on a port in use");
        } catch (const std::runtime_error& e) {
            QVERIFY2(std::string(e.what()).find("in use") != std::string::npos, e.what());
        }
        options.port = 0;
        options.maxBatch = 0;
        QVERIFY(checkServeOptions(options).find("max batch") != std::string::npos);
    }

    void cleanupTestCase()
    {
        m_server->stop();
        m_server->stop();   // idempotent
    }

private:
    QTemporaryDir m_dir;
    TrainedWeights m_weights;
    std::unique_ptr<Predictor> m_predictor;
    Dataset m_test;
    std::unique_ptr<InferenceServer> m_server;
};

QTEST_APPLESS_MAIN(TestServe)
#include "test_serve.moc"
