// Images dropped on a run (or chosen from its context menu): each image with the model's top
// classes and their probabilities. The run's model loads and predicts in the background.
#pragma once

#include <QDialog>
#include <QFutureWatcher>
#include <QStringList>

#include <memory>

class QLabel;
class QTableWidget;

struct ImagePredictions {
    QString error;                       // the model or an image could not be read
    QStringList classNames;
    QList<QVector<float>> probabilities; // per image
    QStringList failed;                  // "file: why" for images that could not be read
    QString model;                       // "run <id> (<name>), best checkpoint"
};

class PredictionsDialog : public QDialog {
    Q_OBJECT
public:
    // Starts predicting at once; the dialog shows the images, then their classes.
    PredictionsDialog(const QString& databasePath, const QString& runId, const QStringList& images,
                      QWidget* parent = nullptr);
    ~PredictionsDialog() override;

    bool isFinished() const { return m_watcher.isFinished(); }
    const ImagePredictions& result() const { return m_result; }
    QTableWidget* table() const { return m_table; }

    // The work itself (no widgets), for tests and the background thread.
    static ImagePredictions predict(const QString& databasePath, const QString& runId, const QStringList& images);

signals:
    void predictionsReady();

private:
    void showResult(const ImagePredictions& result);

    QStringList m_images;
    QLabel* m_status = nullptr;
    QTableWidget* m_table = nullptr;
    QFutureWatcher<ImagePredictions> m_watcher;
    ImagePredictions m_result;
};
