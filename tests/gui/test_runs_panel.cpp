// RunsPanel over a real store in a temporary folder: listing, sort, filter, ticks, edits.
#include "runs/runs_filter.h"
#include "runs/runs_model.h"
#include "runs/runs_panel.h"

#include "test_runs_fixture.h"

#include <QAction>
#include <QSignalSpy>
#include <QTreeView>
#include <QTemporaryDir>
#include <QTest>

using Column = RunsTableModel::Column;

class TestRunsPanel : public QObject {
    Q_OBJECT
private slots:
    void init();
    void cleanup();
    void listsRunsFromTheStore();
    void sortsByAnyColumn();
    void filtersByNameTagAndStatus();
    void tickingEmitsOverlayChanged();
    void renameReachesTheStore();
    void tagsAndNotesReachTheStore();
    void deleteReachesTheStoreAndDropsTheTick();
    void deletingARunningRunShowsTheStoreMessage();
    void refreshKeepsTicksAndSelection();
    void actionsFollowTheSelection();
    void openAndResumeEmit();
    void unreadableStoreIsReportedNotFatal();

private:
    QStringList visibleNames() const;
    QString idOf(const QString& name) const;

    std::unique_ptr<QTemporaryDir> m_dir;
    QString m_db;
    QString m_alpha, m_beta, m_gamma;
    std::unique_ptr<RunsPanel> m_panel;
};

void TestRunsPanel::init()
{
    m_dir = std::make_unique<QTemporaryDir>();
    m_db = m_dir->filePath(QStringLiteral("runs.db"));
    auto accuracy = [](double best) {
        return [best](nnlab::RunRecorder& r) {
            r.addMetrics(fixture::points("train/loss", 100, [](int64_t s) { return 1.0 / (1 + s); }));
            r.addMetrics(fixture::points("val/accuracy", 3, [best](int64_t s) { return best - 0.1 * static_cast<double>(148 - s) / 98.0; },
                                         50, 49));
        };
    };
    fixture::RunSpec a;
    a.name = "alpha";
    a.dataset = "moons";
    a.parameters = 2500000;
    m_alpha = fixture::recordRun(m_db, a, accuracy(0.95));
    fixture::RunSpec b;
    b.name = "beta";
    b.parameters = 800;
    b.status = nnlab::TrainStatus::Failed;
    m_beta = fixture::recordRun(m_db, b, accuracy(0.70));
    fixture::RunSpec c;
    c.name = "Gamma";
    c.dataset = "circles";
    c.parameters = 45000;
    c.tags = {"baseline"};
    m_gamma = fixture::recordRun(m_db, c, accuracy(0.85));
    QVERIFY(!m_alpha.isEmpty() && !m_beta.isEmpty() && !m_gamma.isEmpty());

    m_panel = std::make_unique<RunsPanel>();
    m_panel->resize(1000, 400);
    m_panel->setStorePath(m_db);
}

void TestRunsPanel::cleanup()
{
    m_panel.reset();
    m_dir.reset();
}

QStringList TestRunsPanel::visibleNames() const
{
    QStringList names;
    const QAbstractItemModel* proxy = m_panel->view()->model();
    for (int r = 0; r < proxy->rowCount(); ++r)
        names << proxy->index(r, Column::NameColumn).data().toString();
    return names;
}

void TestRunsPanel::listsRunsFromTheStore()
{
    RunsTableModel* model = m_panel->model();
    QCOMPARE(model->rowCount(), 3);
    const int row = model->rowOf(m_alpha);
    QVERIFY(row >= 0);
    auto cell = [&](int column) { return model->index(row, column).data().toString(); };
    QCOMPARE(cell(Column::StatusColumn), QStringLiteral("finished"));
    QCOMPARE(cell(Column::NameColumn), QStringLiteral("alpha"));
    QCOMPARE(cell(Column::DatasetColumn), QStringLiteral("moons"));
    QCOMPARE(cell(Column::ParametersColumn), RunsTableModel::formatParameters(2500000));
    QVERIFY2(cell(Column::BestAccuracyColumn).contains(QStringLiteral("95")), qPrintable(cell(Column::BestAccuracyColumn)));
    QVERIFY(!cell(Column::StartedColumn).isEmpty());
    QCOMPARE(model->index(model->rowOf(m_beta), Column::StatusColumn).data().toString(), QStringLiteral("failed"));
    QCOMPARE(model->index(model->rowOf(m_beta), Column::StatusColumn).data(Qt::ForegroundRole).value<QBrush>().color(),
             RunsTableModel::statusColour(nnlab::RunStatus::Failed));
    QCOMPARE(model->index(model->rowOf(m_gamma), Column::TagsColumn).data().toString(), QStringLiteral("baseline"));
    QCOMPARE(RunsTableModel::formatDuration(3725), QStringLiteral("1 h 02 m"));
    QCOMPARE(RunsTableModel::formatDuration(75), QStringLiteral("1 m 15 s"));
}

void TestRunsPanel::sortsByAnyColumn()
{
    QTreeView* view = m_panel->view();
    view->sortByColumn(Column::NameColumn, Qt::AscendingOrder);
    QCOMPARE(visibleNames(), (QStringList{QStringLiteral("alpha"), QStringLiteral("beta"), QStringLiteral("Gamma")}));
    view->sortByColumn(Column::NameColumn, Qt::DescendingOrder);
    QCOMPARE(visibleNames(), (QStringList{QStringLiteral("Gamma"), QStringLiteral("beta"), QStringLiteral("alpha")}));
    view->sortByColumn(Column::BestAccuracyColumn, Qt::DescendingOrder);
    QCOMPARE(visibleNames(), (QStringList{QStringLiteral("alpha"), QStringLiteral("Gamma"), QStringLiteral("beta")}));
    // By number, not by text ("2.50 M" < "45.0 k" < "800" as text).
    view->sortByColumn(Column::ParametersColumn, Qt::AscendingOrder);
    QCOMPARE(visibleNames(), (QStringList{QStringLiteral("beta"), QStringLiteral("Gamma"), QStringLiteral("alpha")}));
}

void TestRunsPanel::filtersByNameTagAndStatus()
{
    m_panel->setFilterText(QStringLiteral("alp"));
    QCOMPARE(visibleNames(), QStringList{QStringLiteral("alpha")});
    m_panel->setFilterText(QStringLiteral("failed"));
    QCOMPARE(visibleNames(), QStringList{QStringLiteral("beta")});
    m_panel->setFilterText(QStringLiteral("BASELINE"));
    QCOMPARE(visibleNames(), QStringList{QStringLiteral("Gamma")});
    m_panel->setFilterText(QStringLiteral("finished moons"));
    QCOMPARE(visibleNames(), QStringList{QStringLiteral("alpha")});
    m_panel->setFilterText(QStringLiteral("nothing-like-this"));
    QVERIFY(visibleNames().isEmpty());
    m_panel->setFilterText(QString());
    QCOMPARE(visibleNames().size(), 3);
}

void TestRunsPanel::tickingEmitsOverlayChanged()
{
    QSignalSpy spy(m_panel.get(), &RunsPanel::overlayChanged);
    QAbstractItemModel* proxy = m_panel->view()->model();
    auto tickCell = [&](const QString& id) {
        for (int r = 0; r < proxy->rowCount(); ++r)
            if (proxy->index(r, 0).data(RunsTableModel::RunIdRole).toString() == id)
                return proxy->index(r, Column::TickColumn);
        return QModelIndex();
    };
    QVERIFY(proxy->flags(tickCell(m_beta)) & Qt::ItemIsUserCheckable);
    QVERIFY(proxy->setData(tickCell(m_beta), Qt::Checked, Qt::CheckStateRole));
    QCOMPARE(spy.count(), 1);
    QCOMPARE(spy.last().at(0).toStringList(), QStringList{m_beta});
    QVERIFY(proxy->setData(tickCell(m_alpha), Qt::Checked, Qt::CheckStateRole));
    QCOMPARE(spy.last().at(0).toStringList(), (QStringList{m_beta, m_alpha}));
    QCOMPARE(tickCell(m_alpha).data(Qt::CheckStateRole).toInt(), int(Qt::Checked));
    QVERIFY(proxy->setData(tickCell(m_beta), Qt::Unchecked, Qt::CheckStateRole));
    QCOMPARE(spy.last().at(0).toStringList(), QStringList{m_alpha});
    QCOMPARE(spy.count(), 3);
    QCOMPARE(m_panel->tickedRuns(), QStringList{m_alpha});
}

void TestRunsPanel::renameReachesTheStore()
{
    QSignalSpy renamed(m_panel.get(), &RunsPanel::runRenamed);
    QVERIFY(m_panel->renameRun(m_alpha, QStringLiteral("  alpha v2 ")));
    QCOMPARE(renamed.count(), 1);
    auto store = nnlab::RunStore::open(m_db.toStdString());
    QVERIFY(store.ok());
    QCOMPARE(QString::fromStdString(store.value->getRun(m_alpha.toStdString()).value.name), QStringLiteral("alpha v2"));
    const RunsTableModel* model = m_panel->model();
    QCOMPARE(model->index(model->rowOf(m_alpha), Column::NameColumn).data().toString(), QStringLiteral("alpha v2"));
    QVERIFY(!m_panel->renameRun(QStringLiteral("no-such-run"), QStringLiteral("x")));
    QVERIFY(!m_panel->lastError().isEmpty());
}

void TestRunsPanel::tagsAndNotesReachTheStore()
{
    QVERIFY(m_panel->setRunTags(m_beta, {QStringLiteral("lr-sweep"), QStringLiteral(" bad ")}));
    QVERIFY(m_panel->setRunNotes(m_beta, QStringLiteral("diverged at step 40")));
    auto store = nnlab::RunStore::open(m_db.toStdString());
    const auto run = store.value->getRun(m_beta.toStdString()).value;
    QCOMPARE(run.tags, (std::vector<std::string>{"bad", "lr-sweep"}));
    QCOMPARE(run.notes, std::string("diverged at step 40"));
    m_panel->setFilterText(QStringLiteral("sweep"));
    QCOMPARE(visibleNames(), QStringList{QStringLiteral("beta")});
}

void TestRunsPanel::deleteReachesTheStoreAndDropsTheTick()
{
    m_panel->setTickedRuns({m_gamma, m_alpha});
    QSignalSpy spy(m_panel.get(), &RunsPanel::overlayChanged);
    QVERIFY(m_panel->deleteRun(m_gamma));
    QCOMPARE(m_panel->model()->rowCount(), 2);
    QCOMPARE(spy.count(), 1);
    QCOMPARE(spy.last().at(0).toStringList(), QStringList{m_alpha});
    auto store = nnlab::RunStore::open(m_db.toStdString());
    QCOMPARE(store.value->getRun(m_gamma.toStdString()).error.code, nnlab::StoreErrorCode::NoSuchRun);
}

void TestRunsPanel::deletingARunningRunShowsTheStoreMessage()
{
    fixture::RunSpec spec;
    spec.name = "still-training";
    std::string id;
    auto recorder = fixture::beginRun(m_db, spec, &id);
    QVERIFY(recorder);
    QVERIFY(recorder->flush().ok());
    QVERIFY(m_panel->refresh());
    const RunsTableModel* model = m_panel->model();
    const int row = model->rowOf(QString::fromStdString(id));
    QCOMPARE(model->index(row, Column::StatusColumn).data().toString(), QStringLiteral("running"));
    QSignalSpy errors(m_panel.get(), &RunsPanel::errorOccurred);
    QVERIFY(!m_panel->deleteRun(QString::fromStdString(id)));
    QCOMPARE(errors.count(), 1);
    QVERIFY(!m_panel->lastError().isEmpty());
    QCOMPARE(m_panel->model()->rowCount(), 4);
    nnlab::TrainResult result;
    result.status = nnlab::TrainStatus::Cancelled;
    QVERIFY(recorder->finish(result).ok());
}

void TestRunsPanel::refreshKeepsTicksAndSelection()
{
    m_panel->view()->sortByColumn(Column::NameColumn, Qt::AscendingOrder);
    m_panel->setTickedRuns({m_beta});
    m_panel->selectRuns({m_gamma});
    QCOMPARE(m_panel->selectedRuns(), QStringList{m_gamma});
    fixture::RunSpec spec;
    spec.name = "delta";
    fixture::recordRun(m_db, spec, [](nnlab::RunRecorder&) {});
    QSignalSpy spy(m_panel.get(), &RunsPanel::overlayChanged);
    QVERIFY(m_panel->refresh());
    QCOMPARE(m_panel->model()->rowCount(), 4);
    QCOMPARE(m_panel->tickedRuns(), QStringList{m_beta});
    QCOMPARE(m_panel->selectedRuns(), QStringList{m_gamma});
    QCOMPARE(spy.count(), 0);
    QCOMPARE(visibleNames().at(2), QStringLiteral("delta"));
}

void TestRunsPanel::actionsFollowTheSelection()
{
    QAction* resume = m_panel->action(QStringLiteral("resume"));
    QAction* compare = m_panel->action(QStringLiteral("compare"));
    QAction* rename = m_panel->action(QStringLiteral("rename"));
    m_panel->selectRuns({m_beta});   // failed: resumable
    QVERIFY(resume->isEnabled());
    QVERIFY(rename->isEnabled());
    QVERIFY(!compare->isEnabled());
    m_panel->selectRuns({m_alpha});  // finished
    QVERIFY(!resume->isEnabled());
    m_panel->selectRuns({m_alpha, m_gamma});
    QVERIFY(compare->isEnabled());
    QVERIFY(!rename->isEnabled());
    QCOMPARE(m_panel->compareCandidates().size(), 2);
    m_panel->selectRuns({});
    QVERIFY(!compare->isEnabled());
    m_panel->setTickedRuns({m_alpha, m_beta});
    QVERIFY(compare->isEnabled());
    m_panel->setTickedRuns({m_alpha, m_beta, m_gamma});
    QVERIFY(!compare->isEnabled());
}

void TestRunsPanel::openAndResumeEmit()
{
    QSignalSpy open(m_panel.get(), &RunsPanel::openExperimentRequested);
    QSignalSpy resume(m_panel.get(), &RunsPanel::resumeRequested);
    QVERIFY(m_panel->openExperiment(m_alpha));
    QCOMPARE(open.count(), 1);
    QCOMPARE(open.last().at(0).toString(), m_alpha);
    QVERIFY(open.last().at(1).toString().contains(QStringLiteral("\"alpha\"")));
    QVERIFY(!m_panel->resumeRun(m_alpha));   // finished runs do not resume
    QCOMPARE(resume.count(), 0);
    QVERIFY(m_panel->resumeRun(m_beta));
    QCOMPARE(resume.count(), 1);
    QCOMPARE(resume.last().at(0).toString(), m_beta);
}

void TestRunsPanel::unreadableStoreIsReportedNotFatal()
{
    const QString path = m_dir->filePath(QStringLiteral("garbage.db"));
    QFile f(path);
    QVERIFY(f.open(QIODevice::WriteOnly));
    f.write(QByteArray(4096, 'x'));
    f.close();
    QSignalSpy errors(m_panel.get(), &RunsPanel::errorOccurred);
    m_panel->setStorePath(path);
    QCOMPARE(errors.count(), 1);
    QVERIFY2(m_panel->lastError().contains(path), qPrintable(m_panel->lastError()));
    QVERIFY(!m_panel->refresh());
}

QTEST_MAIN(TestRunsPanel)
#include "test_runs_panel.moc"
