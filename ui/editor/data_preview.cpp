#include "data_preview.h"
#include "image_grid.h"

#include "nnlab/data.h"

#include <QThread>

#include <algorithm>

namespace {

// Thrown from the progress callback to abandon a load that a newer request replaced.
struct Cancelled {};

QVector<qint64> countClasses(const std::vector<int64_t>& ids, int numClasses)
{
    QVector<qint64> counts(numClasses, 0);
    for (int64_t id : ids)
        if (id >= 0 && id < numClasses)
            ++counts[static_cast<int>(id)];
    return counts;
}

QImage toImage(const nnlab::Dataset& data, size_t index)
{
    const auto& shape = data.sampleShape;
    const int channels = static_cast<int>(shape[0]), height = static_cast<int>(shape[1]), width = static_cast<int>(shape[2]);
    const size_t values = static_cast<size_t>(data.sampleSize());
    const float* sample = data.features.data() + index * values;
    // Raw pixels are 0..255; a source already in 0..1 is stretched to match.
    const float peak = *std::max_element(sample, sample + values);
    return planarImage(sample, channels, height, width, peak <= 1.0f ? 255.0f : 1.0f);
}

void addPoints(DataPreview& out, const nnlab::Dataset& data, const std::vector<int64_t>& ids, qint64 stride)
{
    const auto n = static_cast<size_t>(data.count());
    for (size_t i = 0; i < n; i += static_cast<size_t>(stride)) {
        const int cls = ids.empty() ? 0 : static_cast<int>(ids[i]);
        if (cls < 0 || cls >= out.xs.size())
            continue;
        out.xs[cls].push_back(data.features[2 * i]);
        out.ys[cls].push_back(data.features[2 * i + 1]);
    }
}

void addTable(DataPreview& out, const nnlab::DataSpec& spec, bool classification)
{
    const nnlab::CsvTable table = nnlab::readCsv(spec.path, nnlab::csvOptions(spec, classification));
    for (const auto& name : table.featureNames)
        out.columns << QString::fromStdString(name);
    out.columns << (spec.labelColumn.empty() ? QStringLiteral("label") : QString::fromStdString(spec.labelColumn));
    const nnlab::Dataset& data = table.data;
    const auto width = static_cast<size_t>(data.sampleSize());
    const auto n = std::min<size_t>(static_cast<size_t>(data.count()), kPreviewRows);
    for (size_t i = 0; i < n; ++i) {
        QStringList row;
        for (size_t f = 0; f < width; ++f)
            row << QString::number(data.features[i * width + f], 'g', 6);
        if (!data.labels.empty()) {
            const auto id = static_cast<size_t>(data.labels[i]);
            row << (id < table.classNames.size() ? QString::fromStdString(table.classNames[id]) : QString::number(id));
        } else {
            QStringList targets;
            for (int64_t t = 0; t < data.targetDim; ++t)
                targets << QString::number(data.targets[i * static_cast<size_t>(data.targetDim) + static_cast<size_t>(t)], 'g', 6);
            row << targets.join(QStringLiteral(", "));
        }
        out.rows << row;
    }
}

} // namespace

DataPreview buildDataPreview(const nnlab::DataSpec& spec, bool classification, uint64_t seed,
                             const std::function<bool()>& cancelled)
{
    DataPreview out;
    try {
        nnlab::DataSpec raw = spec;
        raw.normalize = "none";
        const nnlab::DataBundle bundle = nnlab::loadData(raw, classification, seed, [&](double, const std::string&) {
            if (cancelled && cancelled())
                throw Cancelled{};
        });
        out.description = QString::fromStdString(bundle.description);
        out.trainCount = bundle.train.count();
        out.validationCount = bundle.validation.count();
        out.testCount = bundle.test.count();
        out.targetDim = static_cast<int>(bundle.train.targetDim);
        out.sampleShape = bundle.train.sampleShape;
        out.numClasses = bundle.numClasses;
        for (const auto& name : bundle.classNames)
            out.classNames << QString::fromStdString(name);
        // Regression (mse) has no classes: no counts, unlabelled samples.
        const int numClasses = static_cast<int>(bundle.numClasses);
        const std::vector<int64_t>& trainIds = bundle.train.labels;
        const std::vector<int64_t>& validationIds = bundle.validation.labels;
        if (numClasses > 0) {
            out.trainCounts = countClasses(trainIds, numClasses);
            out.validationCounts = countClasses(validationIds, numClasses);
            out.testCounts = countClasses(bundle.test.labels, numClasses);
        }

        if (spec.source == "csv") {
            // A table even for two columns: the file's own rows are what a CSV user checks.
            out.kind = DataPreview::Kind::Table;
            addTable(out, spec, classification);
        } else if (bundle.images) {
            out.kind = DataPreview::Kind::Images;
            const auto n = std::min<size_t>(static_cast<size_t>(bundle.train.count()), kPreviewImages);
            for (size_t i = 0; i < n; ++i) {
                out.images << toImage(bundle.train, i);
                out.imageLabels << (i < trainIds.size() ? static_cast<int>(trainIds[i]) : -1);
            }
        } else if (bundle.train.sampleShape == std::vector<int64_t>{2}) {
            out.kind = DataPreview::Kind::Points;
            const int groups = std::max(numClasses, 1);
            out.xs.resize(groups);
            out.ys.resize(groups);
            const qint64 total = out.trainCount + out.validationCount;
            const qint64 stride = std::max<qint64>(1, (total + kPreviewMaxPoints - 1) / kPreviewMaxPoints);
            addPoints(out, bundle.train, trainIds, stride);
            addPoints(out, bundle.validation, validationIds, stride);
            qint64 shown = 0;
            for (const auto& xs : out.xs)
                shown += xs.size();
            out.pointsOmitted = total - shown;
        }
    } catch (const Cancelled&) {
        out = DataPreview{};
        out.cancelled = true;
    } catch (const std::exception& e) {
        // DataError names the file and what is wrong with it; anything else is shown as is.
        out = DataPreview{};
        out.error = QString::fromStdString(e.what());
    }
    return out;
}

PreviewLoader::PreviewLoader(QObject* parent) : QObject(parent) {}

PreviewLoader::~PreviewLoader()
{
    m_pending.reset();
    if (m_thread) {
        m_cancel->store(true);
        m_thread->wait();
        delete m_thread;
    }
}

void PreviewLoader::request(const nnlab::DataSpec& spec, bool classification, uint64_t seed)
{
    Request next{spec, classification, seed};
    if (m_thread) {
        m_cancel->store(true);
        m_pending = std::move(next);   // started when the running one winds down
        return;
    }
    start(next);
}

void PreviewLoader::start(const Request& request)
{
    auto cancel = std::make_shared<std::atomic<bool>>(false);
    auto result = std::make_shared<DataPreview>();
    m_cancel = cancel;
    m_thread = QThread::create([request, cancel, result] {
        *result = buildDataPreview(request.spec, request.classification, request.seed,
                                   [cancel] { return cancel->load(); });
    });
    QThread* thread = m_thread;
    connect(thread, &QThread::finished, this, [this, thread, cancel, result] {
        thread->deleteLater();
        m_thread = nullptr;
        if (m_pending) {
            const Request next = *m_pending;
            m_pending.reset();
            start(next);
        } else if (!cancel->load() && !result->cancelled) {
            emit finished(*result);
        }
    });
    thread->start(QThread::LowPriority);
}
