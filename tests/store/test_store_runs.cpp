// Stored runs: round trip of everything recorded, listing, edits, deletion, downsampling
// that keeps spikes, import between stores, export and diff.
#include "store_test_util.h"

#include "nnlab/run_export.h"
#include "nnlab/store_hash.h"

#include <nlohmann/json.hpp>

#include <QTemporaryDir>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <limits>
#include <map>
#include <sstream>

#include <unistd.h>

using namespace nnlab;
using namespace storetest;

class TestStoreRuns : public QObject {
    Q_OBJECT
    QTemporaryDir m_dir;
    int m_counter = 0;

    std::string newPath()
    {
        return (m_dir.path() + "/runs" + QString::number(++m_counter) + ".db").toStdString();
    }
    std::unique_ptr<RunStore> open(const std::string& path)
    {
        auto store = RunStore::open(path);
        if (!store.ok())
            qWarning("%s", store.error.message.c_str());
        return std::move(store.value);
    }

private slots:
    void initTestCase() { QVERIFY(m_dir.isValid()); }

    void roundTrip()
    {
        const std::string path = newPath();
        const std::string checkpoint = (m_dir.path() + "/model.pt").toStdString();
        writeBytes(checkpoint, std::string(100000, 'w'));
        std::string id;
        {
            auto recorder = RunRecorder::open(path);
            QVERIFY2(recorder.ok(), recorder.error.message.c_str());
            RunStartInfo start;
            start.name = "custom name";
            start.parentId = "20240101-000000-parent000000";
            start.tags = {"cnn", "baseline"};
            start.notes = "first try";
            start.torchVersion = "2.1.0";
            ExperimentSpec experiment = spec("mnist-cnn", "fashion-mnist");
            experiment.seed = 12345678901234ULL;
            const auto begun = recorder.value->begin(experiment, experimentJson("mnist-cnn", 0.01), start);
            QVERIFY2(begun.ok(), begun.error.message.c_str());
            id = begun.value;
            QCOMPARE(recorder.value->runId(), id);
            QCOMPARE(id.size(), size_t(28));
            TrainInfo info;
            info.device = "cpu";
            info.threads = 4;
            info.parameters = 421642;
            info.threadChoice = "measured";
            info.totalSteps = 300;
            recorder.value->updateInfo(info);
            recorder.value->addMetrics(points("train/loss", 0, 300));
            std::vector<MetricPoint> accuracy = points("val/accuracy", 99, 1);
            accuracy.push_back({"val/accuracy", 199, 1.7e9 + 1, std::nan("")});
            accuracy.push_back({"val/accuracy", 299, 1.7e9 + 2, 0.75});
            recorder.value->addMetrics(accuracy);
            recorder.value->addEvent(EventKind::Checkpoint, checkpoint);
            QVERIFY(recorder.value->addArtifact(checkpoint, "checkpoint").ok());
            QCOMPARE(recorder.value->addArtifact(checkpoint + ".missing", "checkpoint").code,
                     StoreErrorCode::Io);
            TrainResult result;
            result.status = TrainStatus::Finished;
            result.steps = 300;
            result.finalMetrics = {{"train/loss", 0.25}, {"test/accuracy", 0.8125}};
            const StoreError finished = recorder.value->finish(result);
            QVERIFY2(finished.ok(), finished.message.c_str());
            QCOMPARE(recorder.value->committedStep(), int64_t(300));
        }
        auto store = open(path);
        QVERIFY(store);
        const auto run = store->getRun(id);
        QVERIFY2(run.ok(), run.error.message.c_str());
        const RunDetails& r = run.value;
        QCOMPARE(r.name, std::string("custom name"));
        QCOMPARE(r.status, RunStatus::Finished);
        QCOMPARE(r.parentId, std::string("20240101-000000-parent000000"));
        QCOMPARE(r.tags, (std::vector<std::string>{"baseline", "cnn"}));
        QCOMPARE(r.notes, std::string("first try"));
        QCOMPARE(r.dataset, std::string("fashion-mnist"));
        QCOMPARE(r.parameters, int64_t(421642));
        QCOMPARE(r.seed, uint64_t(12345678901234ULL));
        QCOMPARE(r.device, std::string("cpu"));
        QCOMPARE(r.threads, int64_t(4));
        QCOMPARE(r.torchVersion, std::string("2.1.0"));
        QVERIFY(!r.nnlabVersion.empty());
        QCOMPARE(r.pid, static_cast<int64_t>(getpid()));
        QCOMPARE(r.experimentJson, experimentJson("mnist-cnn", 0.01));
        // The hash is of the canonical JSON: reformatting does not change it.
        QCOMPARE(r.experimentHash,
                 hashText(nlohmann::json::parse(experimentJson("mnist-cnn", 0.01)).dump()));
        QVERIFY(nlohmann::json::parse(r.infoJson)["totalSteps"] == 300);
        QVERIFY(r.createdAt > 0 && r.startedAt >= r.createdAt && r.endedAt >= r.startedAt);
        QVERIFY(r.duration >= 0 && r.duration < 60);
        QCOMPARE(r.lastStep, int64_t(300));
        QVERIFY(r.message.empty());

        const MetricSummary& loss = r.metrics.at("train/loss");
        QCOMPARE(loss.count, int64_t(300));
        QCOMPARE(loss.lastStep, int64_t(299));
        QCOMPARE(loss.finalValue, 1.0 / (1.0 + 2.99));
        QCOMPARE(loss.bestValue, loss.finalValue);   // lower is better
        QCOMPARE(loss.bestStep, int64_t(299));
        QCOMPARE(loss.maxValue, 1.0);
        const MetricSummary& accuracy = r.metrics.at("val/accuracy");
        QCOMPARE(accuracy.count, int64_t(3));
        QCOMPARE(accuracy.bestValue, 0.75);           // higher is better; NaN skipped
        QCOMPARE(accuracy.bestStep, int64_t(299));
        QCOMPARE(r.metrics.at("test/accuracy").finalValue, 0.8125);   // only in the result
        QCOMPARE(r.metrics.at("test/accuracy").lastStep, int64_t(300));

        const auto series = store->series(id, "train/loss");
        QVERIFY(series.ok());
        const auto expected = points("train/loss", 0, 300);
        QCOMPARE(series.value.size(), expected.size());
        for (size_t i = 0; i < expected.size(); ++i) {
            QCOMPARE(series.value[i].step, expected[i].step);
            QCOMPARE(series.value[i].wallTime, expected[i].wallTime);
            QCOMPARE(series.value[i].value, expected[i].value);
        }
        const auto withNan = store->series(id, "val/accuracy");
        QVERIFY(std::isnan(withNan.value[1].value));
        const auto range = store->series(id, "train/loss", 100, 109);
        QCOMPARE(range.value.size(), size_t(10));
        QCOMPARE(range.value.front().step, int64_t(100));
        QCOMPARE(store->metricTags(id).value,
                 (std::vector<std::string>{"test/accuracy", "train/loss", "val/accuracy"}));
        QCOMPARE(store->series(id, "nope").error.code, StoreErrorCode::InvalidArgument);

        const auto events = store->events(id);
        QCOMPARE(events.value.size(), size_t(1));
        QCOMPARE(events.value[0].kind, EventKind::Checkpoint);
        QCOMPARE(events.value[0].detail, checkpoint);
        const auto artifacts = store->artifacts(id);
        QCOMPARE(artifacts.value.size(), size_t(1));
        QCOMPARE(artifacts.value[0].path, checkpoint);
        QCOMPARE(artifacts.value[0].size, int64_t(100000));
        QCOMPARE(artifacts.value[0].hash, hashFile(checkpoint).value.hash);
    }

    void listFilterAndSort()
    {
        const std::string path = newPath();
        const std::string a = logRun(path, "mnist-a", 50, TrainStatus::Finished, 1.0, "fashion-mnist");
        const std::string b = logRun(path, "mnist-b", 50, TrainStatus::Finished, 0.5, "fashion-mnist");
        const std::string c = logRun(path, "spiral-c", 50, TrainStatus::Failed, 2.0);
        const std::string d = logRun(path, "spiral-d", 5, TrainStatus::Cancelled, 4.0);
        auto store = open(path);
        QVERIFY(store);
        auto ids = [&](const RunFilter& filter) {
            std::vector<std::string> out;
            const auto runs = store->listRuns(filter);
            for (const auto& run : runs.value)
                out.push_back(run.id);
            return out;
        };
        QCOMPARE(ids({}), (std::vector<std::string>{d, c, b, a}));   // newest first
        RunFilter filter;
        filter.status = RunStatus::Finished;
        QCOMPARE(ids(filter), (std::vector<std::string>{b, a}));
        filter = {};
        filter.nameGlob = "spiral-*";
        QCOMPARE(ids(filter), (std::vector<std::string>{d, c}));
        // val/accuracy = 1 - scale/(1 + 0.01 step): the smallest scale wins.
        filter = {};
        filter.sortBy = "val/accuracy";
        QCOMPARE(ids(filter), (std::vector<std::string>{b, a, c, d}));
        filter.sortBy = "train/loss";   // lower is better, ascending
        QCOMPARE(ids(filter), (std::vector<std::string>{b, a, c, d}));
        filter.reverse = true;
        QCOMPARE(ids(filter), (std::vector<std::string>{d, c, a, b}));
        filter = {};
        filter.sortBy = "no/such";
        filter.limit = 2;
        QCOMPARE(ids(filter).size(), size_t(2));
        filter = {};
        filter.sortBy = "name";
        QCOMPARE(ids(filter), (std::vector<std::string>{a, b, c, d}));

        const auto runs = store->listRuns();
        const RunSummary& failed = runs.value[1];
        QCOMPARE(failed.status, RunStatus::Failed);
        QCOMPARE(failed.message, std::string("loss is NaN"));
        QCOMPARE(failed.dataset, std::string("spiral"));
        QCOMPARE(failed.parameters, int64_t(1008));
        QCOMPARE(runs.value[3].metrics.at("val/accuracy").count, int64_t(50));
        QVERIFY(runs.value[3].metrics.count("train/loss"));

        // Only the summaries asked for (and the sort key's) are read; the order is the same.
        filter = {};
        filter.metrics = std::vector<std::string>{"val/accuracy"};
        const auto some = store->listRuns(filter);
        QCOMPARE(some.value.size(), runs.value.size());
        for (size_t i = 0; i < some.value.size(); ++i) {
            QCOMPARE(some.value[i].id, runs.value[i].id);
            QCOMPARE(some.value[i].createdAt, runs.value[i].createdAt);
            QCOMPARE(some.value[i].endedAt, runs.value[i].endedAt);
            QCOMPARE(some.value[i].metrics.size(), size_t(1));
            QCOMPARE(some.value[i].metrics.at("val/accuracy").bestValue,
                     runs.value[i].metrics.at("val/accuracy").bestValue);
        }
        filter.sortBy = "train/loss";
        QCOMPARE(ids(filter), (std::vector<std::string>{b, a, c, d}));
        QCOMPARE(store->listRuns(filter).value[0].metrics.size(), size_t(2));
        filter.metrics = std::vector<std::string>{};
        QVERIFY(store->listRuns(filter).value[0].metrics.count("train/loss"));   // the sort key only
        QCOMPARE(store->listRuns(filter).value[0].metrics.size(), size_t(1));
        filter.sortBy.clear();
        QVERIFY(store->listRuns(filter).value[0].metrics.empty());
        QCOMPARE(store->listRuns(filter).value.size(), size_t(4));
    }

    void idPrefixes()
    {
        const std::string path = newPath();
        const std::string a = logRun(path, "a", 1);
        const std::string b = logRun(path, "b", 1);
        auto store = open(path);
        QCOMPARE(store->resolveRunId(a).value, a);
        // 8 of the 12 random digits tell two runs apart.
        QCOMPARE(store->resolveRunId(a.substr(0, 24)).value, a);
        QCOMPARE(store->getRun(b.substr(0, 24)).value.id, b);
        const auto ambiguous = store->resolveRunId(a.substr(0, 4));
        QCOMPARE(ambiguous.error.code, StoreErrorCode::AmbiguousRun);
        QVERIFY(ambiguous.error.message.find(a) != std::string::npos);
        QCOMPARE(store->resolveRunId("zzz").error.code, StoreErrorCode::NoSuchRun);
        QCOMPARE(store->resolveRunId("").error.code, StoreErrorCode::InvalidArgument);
        QCOMPARE(store->getRun("zzz").error.message, path + ": no run matches \"zzz\"");
    }

    void editAndDelete()
    {
        const std::string path = newPath();
        const std::string keep = logRun(path, "keep", 10);
        const std::string gone = logRun(path, "gone", 3000);
        auto store = open(path);
        QVERIFY(store->rename(keep, "renamed").ok());
        QVERIFY(store->setNotes(keep, "lr too high").ok());
        QVERIFY(store->setTags(keep, {"b", "a", "b", ""}).ok());
        const auto run = store->getRun(keep);
        QCOMPARE(run.value.name, std::string("renamed"));
        QCOMPARE(run.value.notes, std::string("lr too high"));
        QCOMPARE(run.value.tags, (std::vector<std::string>{"a", "b"}));

        QVERIFY(store->deleteRun(gone).ok());
        QCOMPARE(store->getRun(gone).error.code, StoreErrorCode::NoSuchRun);
        QCOMPARE(store->listRuns().value.size(), size_t(1));
        Sql sql(path);
        QCOMPARE(sql.number("SELECT count(*) FROM series"), 2LL);
        QCOMPARE(sql.number("SELECT count(*) FROM chunks c JOIN series s ON s.id = c.series "
                            "JOIN runs r ON r.seq = s.run WHERE r.id = '" + gone + "'"),
                 0LL);
        QCOMPARE(sql.number("SELECT count(*) FROM chunks WHERE series NOT IN (SELECT id FROM series)"),
                 0LL);

        // A run still being recorded by a live process is not deleted under it.
        auto recorder = RunRecorder::open(path);
        const auto live = recorder.value->begin(spec("live"), experimentJson("live", 0.1));
        const StoreError refused = store->deleteRun(live.value).error;
        QCOMPARE(refused.code, StoreErrorCode::WrongState);
        QVERIFY(refused.message.find("still running") != std::string::npos);
    }

    // DeleteFiles::Checkpoints removes the run's latest and best checkpoints and the checkpoint
    // artifacts it recorded in the store's checkpoints folder. Another run's files, a file
    // another run records too, and files outside that folder (by path or through a link) stay.
    void deleteRemovesCheckpointFiles()
    {
        QTemporaryDir dir;
        const std::string folder = dir.path().toStdString();
        const std::string path = folder + "/runs.db";
        // A finished run that recorded `artifacts` as checkpoints; "" when anything failed.
        auto record = [&](const std::string& name, const std::vector<std::string>& artifacts) -> std::string {
            auto recorder = RunRecorder::open(path);
            const auto id = recorder.value->begin(spec(name), experimentJson(name, 0.1));
            for (const std::string& file : artifacts) {
                writeBytes(file, "weights of " + name);
                if (!recorder.value->addArtifact(file, "checkpoint").ok())
                    return {};
            }
            TrainResult result;
            result.status = TrainStatus::Finished;
            return recorder.value->finish(result).ok() ? id.value : std::string();
        };
        const std::string checkpoints = folder + "/checkpoints/";
        const std::string shared = checkpoints + "shared.pt";
        const std::string outside = folder + "/exported.pt";
        std::filesystem::create_directories(folder + "/elsewhere");
        std::filesystem::create_directories(checkpoints);
        std::filesystem::create_directory_symlink(folder + "/elsewhere", checkpoints + "link");
        const std::string throughLink = checkpoints + "link/step100.pt";
        const std::string gone = record("gone", {checkpoints + "step50.pt", shared, outside, throughLink});
        const std::string keep = record("keep", {shared});
        QVERIFY(!gone.empty() && !keep.empty());

        const std::string latest = checkpointPathFor(path, gone, CheckpointKind::Latest);
        const std::string best = checkpointPathFor(path, gone, CheckpointKind::Best);
        QCOMPARE(latest, checkpoints + gone + ".pt");
        QCOMPARE(best, checkpoints + gone + ".best.pt");
        const std::string keepLatest = checkpointPathFor(path, keep, CheckpointKind::Latest);
        const std::string keepBest = checkpointPathFor(path, keep, CheckpointKind::Best);
        for (const std::string& file : {latest, best, keepLatest, keepBest})
            writeBytes(file, "weights");

        auto store = open(path);
        const auto deleted = store->deleteRun(gone.substr(0, 20), DeleteFiles::Checkpoints);
        QVERIFY2(deleted.ok(), deleted.error.message.c_str());
        QCOMPARE(deleted.value.id, gone);
        std::vector<std::string> removed = deleted.value.removedFiles;
        std::sort(removed.begin(), removed.end());
        std::vector<std::string> expected{latest, best, checkpoints + "step50.pt"};
        std::sort(expected.begin(), expected.end());
        QCOMPARE(removed, expected);
        for (const std::string& file : expected)
            QVERIFY2(!std::filesystem::exists(file), file.c_str());
        for (const std::string& file : {shared, outside, throughLink, keepLatest, keepBest})
            QVERIFY2(std::filesystem::exists(file), file.c_str());

        // Without DeleteFiles::Checkpoints the files stay.
        const auto kept = store->deleteRun(keep);
        QVERIFY(kept.ok());
        QVERIFY(kept.value.removedFiles.empty());
        QVERIFY(std::filesystem::exists(keepLatest));
    }

    // 1M points, one spike up and one down: both survive 2000 buckets.
    void downsamplingKeepsSpikes()
    {
        const std::string path = newPath();
        std::string id;
        const int64_t total = 1000000;
        {
            auto recorder = RunRecorder::open(path);
            id = recorder.value->begin(spec("long"), experimentJson("long", 0.1)).value;
            std::vector<MetricPoint> batch;
            for (int64_t step = 0; step < total; ++step) {
                double value = 0.5 + 0.01 * std::sin(static_cast<double>(step) * 0.001);
                if (step == 777777)
                    value = 50.0;
                if (step == 123457)
                    value = -20.0;
                batch.push_back({"train/loss", step, 1.7e9 + static_cast<double>(step), value});
                if (batch.size() == 10000) {
                    recorder.value->addMetrics(batch);
                    batch.clear();
                }
            }
            TrainResult result;
            result.status = TrainStatus::Finished;
            QVERIFY(recorder.value->finish(result).ok());
        }
        auto store = open(path);
        const auto buckets = store->seriesDownsampled(id, "train/loss", std::numeric_limits<int64_t>::min(),
                                                      std::numeric_limits<int64_t>::max(), 2000);
        QVERIFY2(buckets.ok(), buckets.error.message.c_str());
        QCOMPARE(buckets.value.size(), size_t(2000));
        int64_t count = 0;
        const SeriesBucket* high = &buckets.value[0];
        const SeriesBucket* low = &buckets.value[0];
        for (const SeriesBucket& bucket : buckets.value) {
            count += bucket.count;
            QVERIFY(bucket.first.step <= bucket.min.step && bucket.min.step <= bucket.last.step);
            QVERIFY(bucket.first.step <= bucket.max.step && bucket.max.step <= bucket.last.step);
            if (bucket.max.value > high->max.value)
                high = &bucket;
            if (bucket.min.value < low->min.value)
                low = &bucket;
        }
        QCOMPARE(count, total);
        QCOMPARE(high->max.value, 50.0);
        QCOMPARE(high->max.step, int64_t(777777));
        QCOMPARE(low->min.value, -20.0);
        QCOMPARE(low->min.step, int64_t(123457));
        QCOMPARE(buckets.value.front().first.step, int64_t(0));
        QCOMPARE(buckets.value.back().last.step, total - 1);

        // A zoom: exactly the points of the range, the spike still there.
        const auto zoom = store->seriesDownsampled(id, "train/loss", 777000, 778999, 100);
        QCOMPARE(zoom.value.size(), size_t(100));
        QCOMPARE(zoom.value.front().first.step, int64_t(777000));
        QCOMPARE(zoom.value.back().last.step, int64_t(778999));
        const auto spike = std::max_element(zoom.value.begin(), zoom.value.end(),
                                            [](const SeriesBucket& a, const SeriesBucket& b) {
                                                return a.max.value < b.max.value;
                                            });
        QCOMPARE(spike->max.step, int64_t(777777));
        QCOMPARE(store->series(id, "train/loss").value.size(), size_t(total));
        QCOMPARE(store->seriesDownsampled(id, "train/loss", 0, 10, 0).error.code,
                 StoreErrorCode::InvalidArgument);
        QVERIFY(store->seriesDownsampled(id, "train/loss", 2000000, 3000000, 10).value.empty());
    }

    // Buckets against a brute-force computation, on sparse steps and an odd bucket count.
    void downsamplingMatchesBruteForce()
    {
        const std::string path = newPath();
        std::vector<MetricPoint> logged;
        std::string id;
        {
            auto recorder = RunRecorder::open(path);
            id = recorder.value->begin(spec("sparse"), experimentJson("sparse", 0.1)).value;
            std::srand(42);
            for (int64_t i = 0; i < 5000; ++i)
                logged.push_back({"val/accuracy", i * 10 + (i % 3), 1.7e9 + static_cast<double>(i),
                                  static_cast<double>(std::rand() % 1000) / 1000.0});
            recorder.value->addMetrics(logged);
            QVERIFY(recorder.value->flush().ok());
        }
        auto store = open(path);
        const int64_t lo = 1234;
        const int64_t hi = 40321;
        const int buckets = 37;
        const auto result = store->seriesDownsampled(id, "val/accuracy", lo, hi, buckets);
        QVERIFY(result.ok());
        const uint64_t span = static_cast<uint64_t>(hi - lo + 1);
        const uint64_t width = (span + buckets - 1) / buckets;
        std::map<uint64_t, std::vector<MetricPoint>> expected;
        for (const MetricPoint& point : logged) {
            if (point.step >= lo && point.step <= hi)
                expected[static_cast<uint64_t>(point.step - lo) / width].push_back(point);
        }
        QCOMPARE(result.value.size(), expected.size());
        size_t index = 0;
        for (const auto& [bucket, pts] : expected) {
            const SeriesBucket& got = result.value[index++];
            QCOMPARE(got.count, static_cast<int64_t>(pts.size()));
            QCOMPARE(got.first.step, pts.front().step);
            QCOMPARE(got.last.step, pts.back().step);
            const auto minIt = std::min_element(pts.begin(), pts.end(), [](auto& a, auto& b) { return a.value < b.value; });
            const auto maxIt = std::max_element(pts.begin(), pts.end(), [](auto& a, auto& b) { return a.value < b.value; });
            QCOMPARE(got.min.value, minIt->value);
            QCOMPARE(got.min.step, minIt->step);
            QCOMPARE(got.max.value, maxIt->value);
            QCOMPARE(got.max.step, maxIt->step);
        }
    }

    // The newest value for a step wins: a repeated or earlier step replaces what followed.
    void backwardStepsReplace()
    {
        const std::string path = newPath();
        std::string id;
        {
            auto recorder = RunRecorder::open(path);
            id = recorder.value->begin(spec("again"), experimentJson("again", 0.1)).value;
            recorder.value->addMetrics(points("train/loss", 0, 3000));
            QVERIFY(recorder.value->flush().ok());
            recorder.value->addMetrics(points("train/loss", 1500, 10, 9.0));
            QVERIFY(recorder.value->flush().ok());
            recorder.value->addMetrics(points("train/loss", 1510, 5, 9.0));
            recorder.value->addMetrics(points("train/loss", 1512, 1, 7.0));
            QVERIFY(recorder.value->flush().ok());
        }
        auto store = open(path);
        const auto series = store->series(id, "train/loss");
        QCOMPARE(series.value.size(), size_t(1513));
        QCOMPARE(series.value[1499].value, points("train/loss", 1499, 1)[0].value);
        QCOMPARE(series.value[1500].value, points("train/loss", 1500, 1, 9.0)[0].value);
        QCOMPARE(series.value[1512].value, points("train/loss", 1512, 1, 7.0)[0].value);
        const MetricSummary summary = store->getRun(id).value.metrics.at("train/loss");
        QCOMPARE(summary.count, int64_t(1513));
        QCOMPARE(summary.lastStep, int64_t(1512));
        QCOMPARE(summary.bestStep, int64_t(1499));
        Sql sql(path);
        QCOMPARE(sql.scalar("PRAGMA integrity_check"), std::string("ok"));
    }

    void importSkipsDuplicates()
    {
        const std::string source = newPath();
        const std::string target = newPath();
        const std::string a = logRun(source, "a", 2500);
        const std::string b = logRun(source, "b", 10, TrainStatus::Cancelled);
        const std::string c = logRun(target, "c", 10);
        {
            auto store = open(source);
            QVERIFY(store->setTags(a, {"remote"}).ok());
        }
        // A run dead mid-training (pid that cannot exist) arrives interrupted.
        {
            Sql sql(source);
            QVERIFY(sql.exec("UPDATE runs SET status = 'running', ended_at = NULL, pid = 2147483647 "
                             "WHERE id = '" + b + "'"));
        }
        // A run recorded right now by this live process is left for a later import.
        auto recorder = RunRecorder::open(source);
        const std::string live = recorder.value->begin(spec("live"), experimentJson("live", 0.1)).value;
        QVERIFY(recorder.value->flush().ok());
        const std::string sourceBytes = readBytes(source);

        auto store = open(target);
        auto report = store->importFrom(source);
        QVERIFY2(report.ok(), report.error.message.c_str());
        QCOMPARE(report.value.imported, (std::vector<std::string>{a, b}));
        QVERIFY(report.value.alreadyPresent.empty());
        QCOMPARE(report.value.stillRunning, std::vector<std::string>{live});
        QVERIFY(readBytes(source) == sourceBytes);

        report = store->importFrom(source);
        QVERIFY(report.ok());
        QVERIFY(report.value.imported.empty());
        QCOMPARE(report.value.alreadyPresent, (std::vector<std::string>{a, b}));

        const auto runs = store->listRuns();
        QCOMPARE(runs.value.size(), size_t(3));
        const auto imported = store->getRun(a);
        QCOMPARE(imported.value.tags, std::vector<std::string>{"remote"});
        QCOMPARE(imported.value.metrics.at("train/loss").count, int64_t(2500));
        const auto series = store->series(a, "train/loss");
        const auto expected = points("train/loss", 0, 2500);
        QCOMPARE(series.value.size(), expected.size());
        QCOMPARE(series.value[2499].value, expected[2499].value);
        const auto interrupted = store->getRun(b);
        QCOMPARE(interrupted.value.status, RunStatus::Interrupted);
        QVERIFY(interrupted.value.endedAt > 0);
        QCOMPARE(store->getRun(c).value.name, std::string("c"));

        QCOMPARE(store->importFrom(target).error.code, StoreErrorCode::InvalidArgument);
        const std::string text = (m_dir.path() + "/notes.txt").toStdString();
        writeBytes(text, "not a database at all, just some words\n");
        const auto bad = store->importFrom(text);
        QCOMPARE(bad.error.code, StoreErrorCode::NotRunDatabase);
        QCOMPARE(readBytes(text), std::string("not a database at all, just some words\n"));
        Sql sql(target);
        QCOMPARE(sql.scalar("PRAGMA integrity_check"), std::string("ok"));
        QCOMPARE(sql.scalar("PRAGMA foreign_key_check"), std::string());
    }

    void exportCsvAndJson()
    {
        const std::string path = newPath();
        std::string id;
        {
            auto recorder = RunRecorder::open(path);
            id = recorder.value->begin(spec("export"), experimentJson("export", 0.1)).value;
            recorder.value->addMetrics({{"train/loss", 0, 1.7e9 + 0.125, 0.1},
                                        {"train/loss", 1, 1.7e9 + 0.25, 1.0 / 3.0},
                                        {"a,\"odd\" tag", 5, 1.7e9, std::nan("")}});
            TrainResult result;
            result.status = TrainStatus::Finished;
            QVERIFY(recorder.value->finish(result).ok());
        }
        auto store = open(path);
        std::ostringstream csv;
        QVERIFY(exportRun(*store, id, ExportFormat::Csv, csv).ok());
        QCOMPARE(csv.str(), "run_id,tag,step,wall_time,value\n"
                                + id + ",\"a,\"\"odd\"\" tag\",5,1700000000,nan\n"
                                + id + ",train/loss,0,1700000000.125,0.1\n"
                                + id + ",train/loss,1,1700000000.25,0.3333333333333333\n");
        std::ostringstream json;
        QVERIFY(exportRun(*store, id, ExportFormat::Json, json).ok());
        const auto parsed = nlohmann::json::parse(json.str());
        QCOMPARE(parsed["run"]["id"].get<std::string>(), id);
        QCOMPARE(parsed["run"]["status"].get<std::string>(), std::string("finished"));
        QCOMPARE(parsed["run"]["experiment"]["optimizer"]["lr"].get<double>(), 0.1);
        QCOMPARE(parsed["metrics"]["train/loss"].size(), size_t(2));
        QCOMPARE(parsed["metrics"]["train/loss"][1][2].get<double>(), 1.0 / 3.0);
        QVERIFY(parsed["metrics"]["a,\"odd\" tag"][0][2].is_null());
        std::ostringstream none;
        QCOMPARE(exportRun(*store, "zzz", ExportFormat::Csv, none).code, StoreErrorCode::NoSuchRun);
    }

    // The export reads a series a window of steps at a time (so that memory does not grow
    // with the run): every point comes out once and in order, whether the steps are dense,
    // sparse, at the ends of int64, or clustered with one far away.
    void exportStreamsEveryPoint()
    {
        const std::string path = newPath();
        const std::vector<int64_t> sparse{std::numeric_limits<int64_t>::min(), -(int64_t(1) << 62), -1, 0, 7,
                                          int64_t(1) << 40, std::numeric_limits<int64_t>::max()};
        std::string id;
        {
            auto recorder = RunRecorder::open(path);
            id = recorder.value->begin(spec("stream"), experimentJson("stream", 0.1)).value;
            std::vector<MetricPoint> batch;
            for (int64_t i = 0; i < 40000; ++i)
                batch.push_back({"dense", 3 * i, 1.7e9, static_cast<double>(i)});
            for (int64_t step : sparse)
                batch.push_back({"sparse", step, 1.7e9, 1.0});
            for (int64_t i = 0; i < 30000; ++i)
                batch.push_back({"clustered", i, 1.7e9, 2.0});
            batch.push_back({"clustered", int64_t(1) << 50, 1.7e9, 3.0});
            recorder.value->addMetrics(batch);
            TrainResult result;
            result.status = TrainStatus::Finished;
            QVERIFY(recorder.value->finish(result).ok());
        }
        auto store = open(path);
        std::ostringstream csv;
        QVERIFY(exportRun(*store, id, ExportFormat::Csv, csv).ok());
        std::map<std::string, std::vector<int64_t>> steps;
        std::istringstream lines(csv.str());
        std::string line;
        std::getline(lines, line);
        while (std::getline(lines, line)) {
            const size_t tagEnd = line.find(',', id.size() + 1);
            const size_t stepEnd = line.find(',', tagEnd + 1);
            steps[line.substr(id.size() + 1, tagEnd - id.size() - 1)].push_back(
                std::stoll(line.substr(tagEnd + 1, stepEnd - tagEnd - 1)));
        }
        QCOMPARE(steps["sparse"], sparse);
        QCOMPARE(steps["dense"].size(), size_t(40000));
        QCOMPARE(steps["dense"].back(), int64_t(3 * 39999));
        QVERIFY(std::is_sorted(steps["dense"].begin(), steps["dense"].end()));
        QCOMPARE(steps["clustered"].size(), size_t(30001));
        QCOMPARE(steps["clustered"].back(), int64_t(1) << 50);
        std::ostringstream json;
        QVERIFY(exportRun(*store, id, ExportFormat::Json, json).ok());
        const auto parsed = nlohmann::json::parse(json.str());
        QCOMPARE(parsed["metrics"]["dense"].size(), size_t(40000));
        QCOMPARE(parsed["metrics"]["sparse"][6][0].get<int64_t>(), std::numeric_limits<int64_t>::max());
    }

    void diffAndFlatten()
    {
        std::string error;
        const auto flat = flattenJson(R"({"b": 1, "a": {"x": [1, {"y": "z"}], "e": {}}})", &error);
        QVERIFY(error.empty());
        QCOMPARE(flat.size(), size_t(4));
        QCOMPARE(flat[0], (std::pair<std::string, std::string>{"b", "1"}));
        QCOMPARE(flat[1], (std::pair<std::string, std::string>{"a.x[0]", "1"}));
        QCOMPARE(flat[2], (std::pair<std::string, std::string>{"a.x[1].y", "\"z\""}));
        QCOMPARE(flat[3], (std::pair<std::string, std::string>{"a.e", "{}"}));
        QVERIFY(flattenJson("{oops", &error).empty());
        QVERIFY(!error.empty());

        RunDetails a;
        a.name = "a";
        a.experimentJson = experimentJson("same", 0.001, 2);
        a.metrics["val/accuracy"].count = 1;
        a.metrics["val/accuracy"].finalValue = 0.9;
        RunDetails b = a;
        b.experimentJson = R"({"format": "nnlab.experiment/1", "name": "same", "seed": 7, )"
                           R"("data": {"source": "spiral", "samples": 500}, "optimizer": )"
                           R"({"type": "adamw", "lr": 0.003}, "training": {"batch_size": 32}, "loss": "mse"})";
        b.metrics["val/loss"].count = 1;
        const RunDiff diff = diffRuns(a, b);
        QCOMPARE(diff.experiment.size(), size_t(3));
        QCOMPARE(diff.experiment[0].path, std::string("optimizer.lr"));
        QCOMPARE(diff.experiment[0].a, std::string("0.001"));
        QCOMPARE(diff.experiment[0].b, std::string("0.003"));
        QCOMPARE(diff.experiment[1].path, std::string("training.epochs"));
        QCOMPARE(diff.experiment[1].b, std::string());
        QCOMPARE(diff.experiment[2].path, std::string("loss"));
        QVERIFY(diff.summary.empty());
        QCOMPARE(diff.metrics.size(), size_t(2));
        QCOMPARE(diff.metrics[1].tag, std::string("val/loss"));
        QCOMPARE(diff.metrics[1].a.count, int64_t(0));
    }

    void formatting()
    {
        QCOMPARE(formatDouble(0.1), std::string("0.1"));
        QCOMPARE(formatDouble(1e-8), std::string("1e-08"));
        QCOMPARE(formatDouble(std::nan("")), std::string("nan"));
        QCOMPARE(formatDouble(-INFINITY), std::string("-inf"));
        QCOMPARE(formatDuration(45.4), std::string("45s"));
        QCOMPARE(formatDuration(192), std::string("3m 12s"));
        QCOMPARE(formatDuration(3720), std::string("1h 02m"));
        QCOMPARE(formatDuration(183600), std::string("2d 3h"));
        QCOMPARE(formatDuration(-1), std::string("-"));
        QCOMPARE(metricDirection("val/accuracy"), 1);
        QCOMPARE(metricDirection("test/top5_acc"), 1);
        QCOMPARE(metricDirection("train/loss"), -1);
        QCOMPARE(metricDirection("val/MSE"), -1);
        QCOMPARE(metricDirection("lr"), 0);
    }

    // The published XXH64 vectors (seed 0): short inputs, every tail length, 32-byte stripes.
    void hashVectors()
    {
        QCOMPARE(hashText(""), std::string("xxh64:ef46db3751d8e999"));
        QCOMPARE(hashText("a"), std::string("xxh64:d24ec4f1a98c6e5b"));
        QCOMPARE(hashText("abc"), std::string("xxh64:44bc2cf5ad770999"));
        QCOMPARE(hashText("message digest"), std::string("xxh64:066ed728fceeb3be"));
        QCOMPARE(hashText("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"),
                 std::string("xxh64:aaa46907d3047814"));
        std::string digits;
        for (int i = 0; i < 8; ++i)
            digits += "1234567890";
        QCOMPARE(hashText(digits), std::string("xxh64:e04a477f19ee145d"));
        std::string pattern(1 << 20, '\0');
        for (size_t i = 0; i < pattern.size(); ++i)
            pattern[i] = static_cast<char>(i % 251);
        Xxh64 pieces;
        for (size_t i = 0; i < pattern.size(); i += 1000)
            pieces.update(pattern.data() + i, std::min<size_t>(1000, pattern.size() - i));
        QCOMPARE(pieces.digest(), 0x89ac0399c4464a31ULL);
        const std::string file = (m_dir.path() + "/pattern.bin").toStdString();
        writeBytes(file, pattern);
        const auto hashed = hashFile(file);
        QCOMPARE(hashed.value.hash, std::string("xxh64:89ac0399c4464a31"));
        QCOMPARE(hashed.value.size, int64_t(1 << 20));
    }
};

QTEST_APPLESS_MAIN(TestStoreRuns)
#include "test_store_runs.moc"
