// The Confusion Matrix dock: the validation set's confusion matrix (confusion_matrix_view.h),
// per-class precision and recall (a table and a bar chart), and, for a clicked cell, the
// examples behind it as images (or feature values for tabular data).
//
// Sources: a live run's ConfusionMatrix snapshots (one per evaluation; the newest shown), a
// stored run's newest recorded matrix, and the trained model's confusion report
// (nnlab/inspect.h confusionReport on its best checkpoint), which brings the examples. The
// report runs on a pool thread: for a stored run when it is shown, for a live run when it
// finishes (or with the Examples button).
#pragma once

#include "confusion_matrix_view.h"

#include "nnlab/inspect.h"
#include "nnlab/snapshot.h"

#include <QWidget>

#include <memory>
#include <optional>
#include <vector>

class ImageGrid;
class QCustomPlot;
class QLabel;
class QPushButton;
class QTableWidget;

namespace inspect {

class ConfusionPanel : public QWidget {
    Q_OBJECT
public:
    explicit ConfusionPanel(QWidget* parent = nullptr);

    void setStorePath(const QString& storePath) { m_storePath = storePath; }
    void beginLiveRun(const QString& runId);
    void addSnapshots(const QString& runId, const std::vector<nnlab::Snapshot>& snapshots);
    // The live run ended: with a checkpoint, its examples are computed.
    void endLiveRun(const QString& runId, bool trained);
    // A stored run: its newest recorded matrix at once, then the report with the examples.
    void showStoredRun(const QString& storePath, const QString& runId);
    // What a confusion report shows (also for tests).
    void setReport(const QString& runId, const nnlab::ConfusionReport& report);
    // Starts the report of the current run on a pool thread (the Examples button).
    void computeReport();

    QString runId() const { return m_runId; }
    ConfusionMatrixView* matrix() const { return m_matrix; }
    QTableWidget* scoresTable() const { return m_table; }
    QCustomPlot* scoresChart() const { return m_chart; }
    ImageGrid* examplesGrid() const { return m_examples; }
    QString examplesCaption() const;
    bool hasReport() const { return m_report.has_value(); }
    int64_t matrixStep() const { return m_step; }
    bool isLoading() const { return m_pending > 0; }

signals:
    void loadingFinished();
    // The examples of the clicked cell are shown (count may be 0).
    void examplesShown(int actual, int predicted, int count);

private:
    struct Loaded {
        QString runId;
        QString error;
        std::optional<nnlab::Snapshot> snapshot;          // the newest recorded matrix
        std::optional<nnlab::ConfusionReport> report;
    };
    static Loaded loadLatest(const QString& storePath, const QString& runId);
    static Loaded loadReport(const QString& storePath, const QString& runId);

    void buildUi();
    void reset(const QString& runId);
    void startLoad(Loaded (*load)(const QString&, const QString&));
    void applyLoaded(const Loaded& loaded);
    void applySnapshot(const nnlab::Snapshot& snapshot);
    void showMatrix(std::vector<int64_t> counts, int classes, const QStringList& names);
    void updateScores();
    void showExamples(int actual, int predicted);

    QString m_storePath;
    QString m_runId;
    int64_t m_step = -1;
    std::optional<nnlab::ConfusionReport> m_report;
    ConfusionMatrixView* m_matrix = nullptr;
    QTableWidget* m_table = nullptr;
    QCustomPlot* m_chart = nullptr;
    ImageGrid* m_examples = nullptr;
    QLabel* m_caption = nullptr;
    QLabel* m_source = nullptr;
    QLabel* m_tabular = nullptr;
    QPushButton* m_examplesButton = nullptr;
    int m_request = 0;
    int m_pending = 0;
};

} // namespace inspect
