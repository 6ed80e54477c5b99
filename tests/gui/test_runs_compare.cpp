// CompareDialog and the experiment diff behind it.
#include "runs/compare_dialog.h"
#include "runs/experiment_diff.h"

#include "test_runs_fixture.h"

#include <QTableWidget>
#include <QTemporaryDir>
#include <QTest>

class TestRunsCompare : public QObject {
    Q_OBJECT
private slots:
    void flattensToDottedKeys();
    void diffLinesUpKeysOfBothSides();
    void dialogHighlightsExactlyTheDifferences();
};

void TestRunsCompare::flattensToDottedKeys()
{
    const auto entries = runs::flattenJson(
        QStringLiteral(R"({"a": {"b": 1, "c": [true, {"d": "x"}]}, "e": null, "f": {}})"));
    QStringList keys, values;
    for (const auto& e : entries) {
        keys << e.key;
        values << e.value;
    }
    QCOMPARE(keys, (QStringList{"a.b", "a.c[0]", "a.c[1].d", "e", "f"}));
    QCOMPARE(values, (QStringList{"1", "true", "\"x\"", "null", "{}"}));
    const auto bad = runs::flattenJson(QStringLiteral("{oops"));
    QCOMPARE(bad.size(), 1);
    QVERIFY(bad.front().value.contains(QStringLiteral("not valid JSON")));
}

void TestRunsCompare::diffLinesUpKeysOfBothSides()
{
    const auto rows = runs::diffJson(QStringLiteral(R"({"a": 1, "c": 3})"),
                                     QStringLiteral(R"({"a": 1, "b": 2, "c": 4})"));
    QCOMPARE(rows.size(), 3);
    QCOMPARE(rows[0].key, QStringLiteral("a"));
    QVERIFY(!rows[0].differs());
    QCOMPARE(rows[1].key, QStringLiteral("b"));   // only in B, placed after its predecessor
    QVERIFY(!rows[1].hasA && rows[1].hasB && rows[1].differs());
    QCOMPARE(rows[2].key, QStringLiteral("c"));
    QVERIFY(rows[2].differs());
}

void TestRunsCompare::dialogHighlightsExactlyTheDifferences()
{
    QTemporaryDir dir;
    const QString db = dir.filePath(QStringLiteral("runs.db"));
    fixture::RunSpec a;
    a.name = "same";
    a.lr = 0.001;
    a.epochs = 2;
    fixture::RunSpec b = a;
    b.lr = 0.01;
    b.epochs = 5;
    const auto fill = [](double final) {
        return [final](nnlab::RunRecorder& r) {
            r.addMetrics(fixture::points("val/accuracy", 1, [final](int64_t) { return final; }, 10));
        };
    };
    const QString idA = fixture::recordRun(db, a, fill(0.8));
    const QString idB = fixture::recordRun(db, b, fill(0.9));
    auto store = nnlab::RunStore::open(db.toStdString());
    QVERIFY(store.ok());
    const auto runA = store.value->getRun(idA.toStdString());
    const auto runB = store.value->getRun(idB.toStdString());
    QVERIFY(runA.ok() && runB.ok());

    CompareDialog dialog(runA.value, runB.value);
    QStringList differing = dialog.differingKeys();
    differing.sort();
    QCOMPARE(differing, (QStringList{QStringLiteral("optimizer.lr"), QStringLiteral("training.epochs")}));

    QTableWidget* table = dialog.experimentTable();
    QStringList highlighted;
    for (int r = 0; r < table->rowCount(); ++r) {
        const bool marked = table->item(r, 1)->background().color() == CompareDialog::highlightColour();
        if (marked)
            highlighted << table->item(r, 0)->text();
    }
    highlighted.sort();
    QCOMPARE(highlighted, differing);
    QVERIFY(table->rowCount() > 5);

    dialog.setOnlyDifferences(true);
    int shown = 0;
    for (int r = 0; r < table->rowCount(); ++r)
        shown += !table->isRowHidden(r);
    QCOMPARE(shown, 2);

    // Final metrics side by side, the better one in bold.
    QTableWidget* metrics = dialog.metricsTable();
    int accuracyRow = -1;
    for (int r = 0; r < metrics->rowCount(); ++r)
        if (metrics->item(r, 0)->text() == QStringLiteral("val/accuracy"))
            accuracyRow = r;
    QVERIFY(accuracyRow >= 0);
    QCOMPARE(metrics->item(accuracyRow, 1)->text(), QStringLiteral("0.8"));
    QCOMPARE(metrics->item(accuracyRow, 2)->text(), QStringLiteral("0.9"));
    QVERIFY(metrics->item(accuracyRow, 2)->font().bold());
    QVERIFY(!metrics->item(accuracyRow, 1)->font().bold());
}

QTEST_MAIN(TestRunsCompare)
#include "test_runs_compare.moc"
