// Watching runs that other processes record: a run of nnlab-cli shows up in the Runs dock while
// it trains, its curves stream into the charts once it is ticked, and its status turns to
// finished, all by read-only polls of the store, which never hold up the recording process.
#include "charts/chart_run.h"
#include "charts/charts_panel.h"
#include "runs/runs_filter.h"
#include "runs/runs_model.h"
#include "runs/runs_panel.h"

#include "test_runs_fixture.h"

#include <QElapsedTimer>
#include <QHeaderView>
#include <QProcess>
#include <QTemporaryDir>
#include <QTest>
#include <QTreeView>

#include <memory>

namespace {

const QString kSpiral = QStringLiteral(NNLAB_SOURCE_DIR "/resources/experiments/spiral-mlp.json");

// Starts `nnlab-cli train` on the spiral MLP into db, logging every step (57 steps an epoch:
// 1800 training samples in batches of 32; about 8 s on an idle core for 250 epochs), and returns the run id it prints first; "" when it printed none within a minute.
QString startCliRun(QProcess& p, const QString& db, int epochs)
{
    p.start(NNLAB_CLI, {"train", kSpiral, "--db", db, "--quiet", "--epochs", QString::number(epochs), "--set",
                        "training.threads=1", "--set", "training.log_every_steps=1"});
    if (!p.waitForStarted() || !p.waitForReadyRead(60000))
        return {};
    return QString::fromUtf8(p.readLine()).section(' ', 1, 1).trimmed();
}

// Points of (run, tag) the charts hold; -1 when none.
int64_t heldPoints(const ChartsPanel& charts, const QString& runId, const QString& tag)
{
    const charts::ChartRun* run = charts.run(runId);
    const charts::MetricSeries* series = run ? run->find(tag) : nullptr;
    return series ? series->pointsHeld() : -1;
}

int64_t storedPoints(const QString& db, const QString& runId, const std::string& tag)
{
    nnlab::StoreOptions options;
    options.readOnly = true;
    auto store = nnlab::RunStore::open(db.toStdString(), options);
    if (!store.ok())
        return -1;
    auto points = store.value->series(runId.toStdString(), tag);
    return points.ok() ? static_cast<int64_t>(points.value.size()) : -1;
}

nnlab::RunStatus statusIn(const RunsPanel& runs, const QString& runId)
{
    const nnlab::RunSummary* run = runs.model()->runAt(runs.model()->rowOf(runId));
    return run ? run->status : nnlab::RunStatus::Failed;
}

} // namespace

class TestLiveWatch : public QObject {
    Q_OBJECT
private slots:
    void init();
    void cleanup();
    void pollReadsOnlyWhatIsNew();
    void cliRunAppearsAndStreams();
    void pollingNeverLocksOutTheWriter();

private:
    std::unique_ptr<QTemporaryDir> m_dir;
    QString m_db;
    std::unique_ptr<RunsPanel> m_runs;
    std::unique_ptr<ChartsPanel> m_charts;
};

void TestLiveWatch::init()
{
    m_dir = std::make_unique<QTemporaryDir>();
    m_db = m_dir->filePath(QStringLiteral("runs.db"));
    m_runs = std::make_unique<RunsPanel>();
    m_charts = std::make_unique<ChartsPanel>();
    // As the main window wires them.
    connect(m_runs.get(), &RunsPanel::overlayChanged, m_charts.get(), &ChartsPanel::setOverlaidRuns);
}

void TestLiveWatch::cleanup()
{
    m_charts.reset();
    m_runs.reset();
    m_dir.reset();
}

// A run recorded in this process by the real recorder, polled by hand: 100k points, then a
// few more and a new tag, then the end of the run.
void TestLiveWatch::pollReadsOnlyWhatIsNew()
{
    std::string id;
    fixture::RunSpec spec;
    spec.name = "long";
    auto recorder = fixture::beginRun(m_db, spec, &id);
    QVERIFY(recorder);
    const int64_t n = 100000;
    recorder->addMetrics(fixture::points("train/loss", n, [](int64_t s) { return 1.0 / (1.0 + s); }));
    QVERIFY(recorder->flush().ok());

    m_charts->setStorePath(m_db);
    const QString runId = QString::fromStdString(id);
    m_charts->setOverlaidRuns({runId});
    const charts::ChartRun* run = m_charts->run(runId);
    QVERIFY(run);
    QVERIFY(run->watched);
    // Held whole (not as an overview) although it is longer than a stored run loads whole:
    // new points are appended to it.
    QCOMPARE(heldPoints(*m_charts, runId, "train/loss"), n);

    // Nothing new: a poll costs a status read and one empty range read.
    QElapsedTimer timer;
    timer.start();
    m_charts->pollWatchedRuns();
    const double idleMs = static_cast<double>(timer.nsecsElapsed()) / 1e6;
    QCOMPARE(heldPoints(*m_charts, runId, "train/loss"), n);

    recorder->addMetrics(fixture::points("train/loss", 500, [](int64_t) { return 0.01; }, n));
    recorder->addMetrics(fixture::points("val/loss", 3, [](int64_t) { return 0.5; }, 0, 40000));
    recorder->addMetrics(fixture::points("not/charted", 10, [](int64_t) { return 0.0; }));
    QVERIFY(recorder->flush().ok());
    timer.restart();
    m_charts->pollWatchedRuns();
    const double newMs = static_cast<double>(timer.nsecsElapsed()) / 1e6;
    qInfo("poll of a 100k-point running run: %.2f ms with nothing new, %.2f ms reading 503 new points", idleMs,
          newMs);
    QCOMPARE(heldPoints(*m_charts, runId, "train/loss"), n + 500);
    QCOMPARE(heldPoints(*m_charts, runId, "val/loss"), int64_t(3));
    QVERIFY(!run->series.count("not/charted"));
    const charts::MetricSeries* loss = run->find("train/loss");
    QCOMPARE(loss->lastPoint().step, n + 499);
    QCOMPARE(loss->lastPoint().value, 0.01);
    QVERIFY(run->watched);

    // The last points and the end of the run commit together: one more read has them all.
    recorder->addMetrics(fixture::points("train/loss", 7, [](int64_t) { return 0.02; }, n + 500));
    nnlab::TrainResult result;
    result.status = nnlab::TrainStatus::Finished;
    QVERIFY(recorder->finish(result).ok());
    recorder.reset();
    m_charts->pollWatchedRuns();
    QCOMPARE(heldPoints(*m_charts, runId, "train/loss"), n + 507);
    QVERIFY(!run->watched);
    // Watching has ended: later records (there are none) are not looked for.
    m_charts->pollWatchedRuns();
    QCOMPARE(heldPoints(*m_charts, runId, "train/loss"), n + 507);
}

void TestLiveWatch::cliRunAppearsAndStreams()
{
    // An earlier run, ticked and selected: the refreshes that bring the new run keep both.
    fixture::RunSpec earlier;
    earlier.name = "earlier";
    const QString earlierId = fixture::recordRun(m_db, earlier, [](nnlab::RunRecorder& r) {
        r.addMetrics(fixture::points("train/loss", 50, [](int64_t s) { return 2.0 / (1.0 + s); }));
    });
    QVERIFY(!earlierId.isEmpty());
    m_runs->setStorePath(m_db);
    m_charts->setStorePath(m_db);
    m_runs->resize(900, 400);
    m_runs->show();
    QVERIFY(QTest::qWaitForWindowExposed(m_runs.get()));
    m_runs->setTickedRuns({earlierId});
    m_runs->selectRuns({earlierId});
    const int sortColumn = m_runs->view()->header()->sortIndicatorSection();

    QProcess cli;
    const QString runId = startCliRun(cli, m_db, 250);
    QVERIFY2(!runId.isEmpty(), cli.readAllStandardError().constData());
    QElapsedTimer sinceStart;
    sinceStart.start();
    // Listed within a couple of seconds (the dock lists the store again every 1.5 s).
    QTRY_VERIFY_WITH_TIMEOUT(m_runs->model()->rowOf(runId) >= 0, 3000);
    qInfo("the CLI run was listed %lld ms after it printed its id", static_cast<long long>(sinceStart.elapsed()));
    QCOMPARE(statusIn(*m_runs, runId), nnlab::RunStatus::Running);
    QCOMPARE(m_runs->tickedRuns(), QStringList{earlierId});
    QCOMPARE(m_runs->selectedRuns(), QStringList{earlierId});
    QCOMPARE(m_runs->view()->header()->sortIndicatorSection(), sortColumn);

    // Ticked by a double-click on its row, as any run.
    const QModelIndex name = m_runs->proxy()->mapFromSource(m_runs->model()->indexOfRun(runId, RunsTableModel::NameColumn));
    QVERIFY(name.isValid());
    m_runs->view()->scrollTo(name);
    const QPoint centre = m_runs->view()->visualRect(name).center();
    // An item view acts on a double-click at the index its press was on.
    QTest::mousePress(m_runs->view()->viewport(), Qt::LeftButton, {}, centre);
    QTest::mouseDClick(m_runs->view()->viewport(), Qt::LeftButton, {}, centre);
    QCOMPARE(m_runs->tickedRuns(), (QStringList{earlierId, runId}));
    QVERIFY(m_charts->shownRuns().contains(runId));
    QVERIFY(m_charts->run(runId)->watched);

    // Its curve grows while the process trains.
    QTRY_VERIFY_WITH_TIMEOUT(heldPoints(*m_charts, runId, "train/loss") > 0, 10000);
    const int64_t first = heldPoints(*m_charts, runId, "train/loss");
    QTRY_VERIFY_WITH_TIMEOUT(heldPoints(*m_charts, runId, "train/loss") > first, 10000);
    QVERIFY2(cli.state() == QProcess::Running, "the run ended before its curve was seen growing: make it longer");

    QVERIFY(cli.waitForFinished(180000));
    QCOMPARE(cli.exitCode(), 0);
    // Finished in the dock, and every stored point in the charts, which then stop polling.
    QTRY_COMPARE_WITH_TIMEOUT(statusIn(*m_runs, runId), nnlab::RunStatus::Finished, 5000);
    const int64_t stored = storedPoints(m_db, runId, "train/loss");
    QCOMPARE(stored, int64_t(250 * 57));
    QTRY_COMPARE_WITH_TIMEOUT(heldPoints(*m_charts, runId, "train/loss"), stored, 5000);
    QTRY_VERIFY_WITH_TIMEOUT(!m_charts->run(runId)->watched, 5000);
    QCOMPARE(heldPoints(*m_charts, runId, "val/accuracy"), storedPoints(m_db, runId, "val/accuracy"));
    QCOMPARE(m_runs->tickedRuns(), (QStringList{earlierId, runId}));
}

// Reads far more often than the charts do (every few milliseconds, plus the dock's list):
// the CLI still records every point and finishes normally.
void TestLiveWatch::pollingNeverLocksOutTheWriter()
{
    m_runs->setStorePath(m_db);
    m_charts->setStorePath(m_db);
    QProcess cli;
    const QString runId = startCliRun(cli, m_db, 60);
    QVERIFY2(!runId.isEmpty(), cli.readAllStandardError().constData());
    m_charts->setOverlaidRuns({runId});
    QVERIFY(m_charts->run(runId));
    int polls = 0;
    while (cli.state() != QProcess::NotRunning) {
        m_charts->pollWatchedRuns();
        m_runs->refresh();
        ++polls;
        QTest::qWait(5);
    }
    qInfo("%d polls while the CLI trained", polls);
    QCOMPARE(cli.exitStatus(), QProcess::NormalExit);
    QCOMPARE(cli.exitCode(), 0);
    QVERIFY(!cli.readAllStandardError().contains("locked"));
    QVERIFY(polls > 10);

    nnlab::StoreOptions options;
    options.readOnly = true;
    auto store = nnlab::RunStore::open(m_db.toStdString(), options);
    QVERIFY(store.ok());
    auto run = store.value->getRun(runId.toStdString());
    QVERIFY(run.ok());
    QCOMPARE(run.value.status, nnlab::RunStatus::Finished);
    const nnlab::MetricSummary& loss = run.value.metrics.at("train/loss");
    QCOMPARE(loss.count, int64_t(60 * 57));
    QCOMPARE(loss.lastStep - loss.firstStep + 1, loss.count);   // no step missing
    m_charts->pollWatchedRuns();
    QCOMPARE(heldPoints(*m_charts, runId, "train/loss"), loss.count);
    QVERIFY(!m_charts->run(runId)->watched);
}

QTEST_MAIN(TestLiveWatch)
#include "test_live_watch.moc"
