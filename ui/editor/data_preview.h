// The data preview: what a DataSpec loads to, summarised for display (sample images, 2-D
// points by class, the first rows of a table, class counts), computed off the GUI thread.
#pragma once

#include "nnlab/spec.h"

#include <QImage>
#include <QObject>
#include <QStringList>
#include <QVector>

#include <atomic>
#include <functional>
#include <memory>
#include <optional>

class QThread;

struct DataPreview {
    enum class Kind { None, Images, Points, Table };
    Kind kind = Kind::None;
    QString error;                   // the DataError's message when loading failed
    bool cancelled = false;          // a newer request replaced this one
    QString description;             // "fashion-mnist: 10800 train, 1200 val, 10000 test"
    QStringList classNames;          // empty for regression
    QVector<qint64> trainCounts;     // per class
    QVector<qint64> validationCounts;
    QVector<qint64> testCounts;
    qint64 trainCount = 0;
    qint64 validationCount = 0;
    qint64 testCount = 0;
    int targetDim = 0;               // regression targets per sample
    std::vector<int64_t> sampleShape;  // per-sample feature shape: what an omitted model.input becomes
    qint64 numClasses = 0;           // classification: what an output layer left to the data becomes

    QVector<QImage> images;          // Images: the first training samples
    QVector<int> imageLabels;        // class of each image, -1 when unknown

    QVector<QVector<double>> xs;     // Points: per class, training and validation samples
    QVector<QVector<double>> ys;
    qint64 pointsOmitted = 0;        // points left out to keep the plot responsive

    QStringList columns;             // Table: feature names and the label
    QVector<QStringList> rows;       // the first rows of the training file
};

constexpr int kPreviewImages = 32;      // an 8 x 4 grid
constexpr int kPreviewRows = 20;
constexpr qint64 kPreviewMaxPoints = 20000;

// Loads `spec` (without normalization, so images and tables show raw values) and summarises
// it. Never throws: errors come back in `error`. `cancelled` is polled between loading stages.
DataPreview buildDataPreview(const nnlab::DataSpec& spec, bool classification, uint64_t seed,
                             const std::function<bool()>& cancelled = {});

// Runs buildDataPreview on a worker thread, one at a time. A new request cancels the one in
// flight (at its next stage) and replaces any queued one; only the latest request's result
// is reported. The destructor cancels and waits.
class PreviewLoader : public QObject {
    Q_OBJECT
public:
    explicit PreviewLoader(QObject* parent = nullptr);
    ~PreviewLoader() override;

    void request(const nnlab::DataSpec& spec, bool classification, uint64_t seed);
    bool isBusy() const { return m_thread != nullptr; }

signals:
    void finished(const DataPreview& preview);

private:
    struct Request {
        nnlab::DataSpec spec;
        bool classification = true;
        uint64_t seed = 0;
    };
    void start(const Request& request);

    QThread* m_thread = nullptr;
    std::shared_ptr<std::atomic<bool>> m_cancel;
    std::optional<Request> m_pending;
};
