// The tuner's cache (engine/src/train/tuning_cache.h) and its deterministic mode: a second
// tuneExecution of the same model on the same machine takes the first one's choices from the
// cache without measuring; a change to what was measured (batch size, thread setting, model)
// measures again; a cache file that is garbage is ignored and replaced, never a crash;
// training.deterministic measures nothing and always picks the same.
//
// Qt's `slots` keyword breaks ATen's headers: keywords off (also set by CMake), LibTorch and
// engine headers first, Qt last.
#ifndef QT_NO_KEYWORDS
#define QT_NO_KEYWORDS
#endif

#include "builder.h"
#include "session.h"
#include "tuning.h"
#include "tuning_cache.h"

#include "nnlab/spec_json.h"

#include <nlohmann/json.hpp>

#include <torch/torch.h>

#include <QtTest>

#include <chrono>
#include <fstream>
#include <string>

using namespace nnlab;
using nnlab::detail::Execution;

namespace {

ExperimentSpec experiment(int64_t channels = 8)
{
    const std::string doc = R"({"data": {"source": "fashion-mnist"}, "model": {"input": [1, 28, 28], "layers": [
        {"type": "conv2d", "out_channels": 4, "kernel_size": 3, "padding": 1},
        {"type": "relu"},
        {"type": "maxpool2d", "kernel_size": 2},
        {"type": "conv2d", "out_channels": )" + std::to_string(channels) + R"(, "kernel_size": 3, "padding": 1},
        {"type": "batchnorm2d"},
        {"type": "relu"},
        {"type": "flatten"},
        {"type": "linear", "out_features": 10}]},
        "training": {"batch_size": 32, "threads": 1}})";
    const ParseResult r = parseExperiment(doc);
    if (!r.ok())
        qFatal("experiment: %s", r.errorText().c_str());
    ExperimentSpec spec = r.spec;
    spec.model.input = {1, 12, 12};   // smaller than the data's, on one thread: quicker to tune
    return spec;
}

nnlab::detail::TensorSet trainingSet()
{
    torch::manual_seed(3);
    nnlab::detail::TensorSet set;
    set.x = torch::randn({64, 1, 12, 12});
    set.y = torch::randint(0, 10, {64}, torch::kLong);
    set.count = 64;
    return set;
}

struct Tuned {
    Execution execution;
    double seconds = 0.0;
};

Tuned tune(const ExperimentSpec& spec)
{
    torch::manual_seed(spec.seed);
    torch::nn::Sequential model = nnlab::detail::buildModel(spec.model);
    const auto start = std::chrono::steady_clock::now();
    Tuned t;
    t.execution = nnlab::detail::tuneExecution(spec, model, trainingSet(), torch::Device(torch::kCPU));
    t.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return t;
}

bool startsWith(const std::string& text, const char* prefix) { return text.rfind(prefix, 0) == 0; }

void writeFile(const QString& path, const std::string& bytes)
{
    std::ofstream out(path.toStdString(), std::ios::binary | std::ios::trunc);
    out << bytes;
}

} // namespace

class TestTuningCache : public QObject {
    Q_OBJECT
    QTemporaryDir m_dir;
    QString m_cache;

private Q_SLOTS:
    void init()
    {
        QVERIFY(m_dir.isValid());
        m_cache = m_dir.filePath("cache/nnlab/tuning.json");   // its folders do not exist yet
        QFile::remove(m_cache);
        qputenv("NNLAB_TUNING_CACHE", m_cache.toUtf8());
    }

    void secondRunUsesTheCache()
    {
        const ExperimentSpec spec = experiment();
        const Tuned first = tune(spec);
        QVERIFY2(startsWith(first.execution.description, "measured: "), first.execution.description.c_str());
        QVERIFY(!first.execution.cached);
        QVERIFY(QFile::exists(m_cache));
        QCOMPARE(first.execution.nativeConvs.size(), size_t(1));   // the first conv is fused with its pooling

        const Tuned second = tune(spec);
        QVERIFY2(startsWith(second.execution.description, "cached: "), second.execution.description.c_str());
        QVERIFY(second.execution.cached);
        QCOMPARE(second.execution.threads, first.execution.threads);
        QCOMPARE(second.execution.channelsLast, first.execution.channelsLast);
        QCOMPARE(second.execution.nativeConvs, first.execution.nativeConvs);
        QCOMPARE(second.execution.stepSeconds, first.execution.stepSeconds);
        QCOMPARE(second.execution.oneThreadSeconds, first.execution.oneThreadSeconds);
        QCOMPARE(at::get_num_threads(), first.execution.threads);   // applied, as a measured choice is
        QVERIFY2(second.seconds < 0.5 * first.seconds,
                 qPrintable(QString("cached %1 s, measured %2 s").arg(second.seconds).arg(first.seconds)));
        // Each says what it cost: the measured one its tuning, the cached one its look-up.
        QVERIFY(first.execution.tuningSeconds > 0.0);
        QVERIFY(second.execution.tuningSeconds < first.execution.tuningSeconds);
        for (const Execution* e : {&first.execution, &second.execution}) {
            const size_t at = e->description.rfind("; tuning ");
            QVERIFY2(at != std::string::npos, e->description.c_str());
            QVERIFY2(e->description.compare(e->description.size() - 2, 2, " s") == 0, e->description.c_str());
            QVERIFY(e->description.find("; tuning ") == at);   // the cached one's not doubled
        }
    }

    // A choice made while other processes held the cores (one thread measured) is kept for an
    // hour, then measured again; an ordinary one stays.
    void loadLimitedChoicesExpire()
    {
        const std::string path = m_cache.toStdString();
        Execution e;
        e.threads = 1;
        e.description = "measured: 1 thread nchw 1.00 ms/step; more threads not measured (load average 3.0 on 2 cores)";
        e.loadLimited = true;
        QCOMPARE(nnlab::detail::storeTuning(path, "busy", e), std::string());
        e.loadLimited = false;
        QCOMPARE(nnlab::detail::storeTuning(path, "quiet", e), std::string());
        QVERIFY(nnlab::detail::loadTuning(path, "busy").has_value());
        QVERIFY(nnlab::detail::loadTuning(path, "busy")->loadLimited);
        // Both stored two hours ago.
        std::ifstream in(path);
        nlohmann::json doc = nlohmann::json::parse(in);
        for (auto& entry : doc["entries"])
            entry["stored"] = entry["stored"].get<int64_t>() - 2 * nnlab::detail::kLoadLimitedSeconds;
        writeFile(m_cache, doc.dump());
        QVERIFY(!nnlab::detail::loadTuning(path, "busy").has_value());
        QVERIFY(nnlab::detail::loadTuning(path, "quiet").has_value());
    }

    void whatWasMeasuredChanges_data()
    {
        QTest::addColumn<int>("batch");
        QTest::addColumn<int>("threads");
        QTest::addColumn<int>("channels");
        QTest::newRow("batch size") << 16 << 0 << 8;
        QTest::newRow("thread setting") << 32 << 2 << 8;
        QTest::newRow("model") << 32 << 0 << 6;
    }

    void whatWasMeasuredChanges()
    {
        QFETCH(int, batch);
        QFETCH(int, threads);
        QFETCH(int, channels);
        QVERIFY(startsWith(tune(experiment()).execution.description, "measured: "));
        ExperimentSpec changed = experiment(channels);
        changed.training.batchSize = batch;
        changed.training.threads = threads;
        const Tuned t = tune(changed);
        QVERIFY2(startsWith(t.execution.description, "measured: "), t.execution.description.c_str());
        QVERIFY(startsWith(tune(experiment()).execution.description, "cached: "));   // both kept
        QVERIFY(startsWith(tune(changed).execution.description, "cached: "));
    }

    void garbageIsReplaced_data()
    {
        QTest::addColumn<QByteArray>("bytes");
        QTest::newRow("empty") << QByteArray();
        QTest::newRow("binary") << QByteArray("\x00\xff\x13garbage\x01", 12);
        QTest::newRow("truncated") << QByteArray("{\"format\": \"nnlab.tuning/1\", \"entries\": {\"0123");
        QTest::newRow("another format") << QByteArray(R"({"format": "other/1", "entries": {}})");
        QTest::newRow("entries not an object") << QByteArray(R"({"format": "nnlab.tuning/1", "entries": [1, 2]})");
        QTest::newRow("a JSON array") << QByteArray("[1, 2, 3]");
        // The entry for this very key, with values of the wrong types or out of range.
        QTest::newRow("entry of wrong types") << QByteArray(R"({"threads": "two", "channels_last": 1})");
        QTest::newRow("entry with 0 threads")
            << QByteArray(R"({"threads": 0, "channels_last": false, "native_convs": [false], "step_seconds": 0.001,
                             "one_thread_seconds": 0.001, "description": "x"})");
        QTest::newRow("entry for another model")
            << QByteArray(R"({"threads": 1, "channels_last": false, "native_convs": [false, true, true],
                             "step_seconds": 0.001, "one_thread_seconds": 0.001, "description": "x"})");
    }

    void garbageIsReplaced()
    {
        QFETCH(QByteArray, bytes);
        const ExperimentSpec spec = experiment();
        QVERIFY(QDir().mkpath(QFileInfo(m_cache).path()));
        std::string contents = bytes.toStdString();
        if (QString(QTest::currentDataTag()).startsWith("entry")) {
            torch::nn::Sequential model = nnlab::detail::buildModel(spec.model);
            const std::string key = nnlab::detail::tuningKey(spec, model, trainingSet(), torch::Device(torch::kCPU));
            // No raw string: moc miscounts the braces in one that does not close them.
            contents = "{\"format\": \"nnlab.tuning/1\", \"entries\": {\"" + key + "\": " + contents + "}}";
        }
        writeFile(m_cache, contents);

        const Tuned first = tune(spec);
        QVERIFY2(startsWith(first.execution.description, "measured: "), first.execution.description.c_str());
        QVERIFY(first.execution.threads >= 1);
        const Tuned second = tune(spec);
        QVERIFY2(startsWith(second.execution.description, "cached: "), second.execution.description.c_str());
        QCOMPARE(second.execution.nativeConvs, first.execution.nativeConvs);
        QVERIFY(QDir(QFileInfo(m_cache).path()).entryList({"*.tmp*"}, QDir::Files).isEmpty());
    }

    // A cache that cannot be written (its folder is a file) only costs the measuring.
    void unwritableCacheIsHarmless()
    {
        writeFile(m_dir.filePath("blocker"), "a file where a folder should be");
        qputenv("NNLAB_TUNING_CACHE", m_dir.filePath("blocker/tuning.json").toUtf8());
        QVERIFY(startsWith(tune(experiment()).execution.description, "measured: "));
        QVERIFY(startsWith(tune(experiment()).execution.description, "measured: "));
    }

    void cacheOff()
    {
        qputenv("NNLAB_TUNING_CACHE", "off");
        QVERIFY(startsWith(tune(experiment()).execution.description, "measured: "));
        QVERIFY(startsWith(tune(experiment()).execution.description, "measured: "));
        QVERIFY(!QFile::exists(m_cache));
    }

    void deterministicMeasuresNothing_data()
    {
        QTest::addColumn<int>("threads");
        QTest::addColumn<int>("expected");
        QTest::newRow("threads 0: one") << 0 << 1;
        QTest::newRow("threads 1") << 1 << 1;
        QTest::newRow("threads 2") << 2 << 2;
    }

    void deterministicMeasuresNothing()
    {
        QFETCH(int, threads);
        QFETCH(int, expected);
        ExperimentSpec spec = experiment();
        spec.training.deterministic = true;
        spec.training.threads = threads;
        for (int run = 0; run < 2; ++run) {
            const Tuned t = tune(spec);
            QVERIFY2(startsWith(t.execution.description, "deterministic: "), t.execution.description.c_str());
            QCOMPARE(t.execution.threads, expected);
            QCOMPARE(at::get_num_threads(), expected);
            QVERIFY(!t.execution.channelsLast);
            QCOMPARE(t.execution.nativeConvs, std::vector<bool>{false});
            QCOMPARE(t.execution.stepSeconds, 0.0);
            QVERIFY(!t.execution.cached);
        }
        QVERIFY(!QFile::exists(m_cache));
    }
};

QTEST_APPLESS_MAIN(TestTuningCache)
#include "test_tuning_cache.moc"
