#include "predictions_dialog.h"

#include "nnlab/data.h"
#include "nnlab/predict_input.h"
#include "nnlab/store.h"
#include "nnlab/trained_model.h"

#include <QDialogButtonBox>
#include <QFile>
#include <QFileInfo>
#include <QHeaderView>
#include <QImage>
#include <QLabel>
#include <QPixmap>
#include <QProgressBar>
#include <QTableWidget>
#include <QVBoxLayout>
#include <QtConcurrent/QtConcurrentRun>

#include <algorithm>
#include <numeric>

namespace {

constexpr int kTopClasses = 3;
constexpr int kThumbnail = 64;

} // namespace

ImagePredictions PredictionsDialog::predict(const QString& databasePath, const QString& runId, const QStringList& images)
{
    ImagePredictions out;
    try {
        nnlab::StoreOptions options;
        options.readOnly = true;
        auto store = nnlab::RunStore::open(databasePath.toStdString(), options);
        if (!store.ok()) {
            out.error = QString::fromStdString(store.error.message);
            return out;
        }
        const nnlab::TrainedWeights weights = nnlab::loadTrainedWeights(*store.value, runId.toStdString());
        const nnlab::ModelInterface& m = weights.interface;
        if (!m.images) {
            out.error = QObject::tr("This run's model takes %1 features per sample, not images.").arg(m.sampleSize());
            return out;
        }
        for (const std::string& name : m.classNames)
            out.classNames << QString::fromStdString(name);
        out.model = QString::fromStdString(weights.runName) + " (" + runId + ")";
        const nnlab::Predictor predictor(weights, 1);
        for (const QString& path : images) {
            QFile file(path);
            if (!file.open(QIODevice::ReadOnly)) {
                out.failed << QObject::tr("%1: cannot open").arg(path);
                out.probabilities << QVector<float>();
                continue;
            }
            const QByteArray bytes = file.readAll();
            try {
                const std::vector<float> raw = nnlab::decodeImage(reinterpret_cast<const uint8_t*>(bytes.constData()),
                                                                  size_t(bytes.size()), m, path.toStdString());
                const std::vector<float> p = predictor.predict(raw.data(), 1);
                out.probabilities << QVector<float>(p.begin(), p.end());
            } catch (const nnlab::DataError& e) {
                out.failed << QString::fromStdString(e.what());
                out.probabilities << QVector<float>();
            }
        }
    } catch (const std::exception& e) {
        out.error = QString::fromStdString(e.what());
    }
    return out;
}

PredictionsDialog::PredictionsDialog(const QString& databasePath, const QString& runId, const QStringList& images,
                                     QWidget* parent)
    : QDialog(parent), m_images(images)
{
    setWindowTitle(tr("Predictions of run %1").arg(runId));
    setAttribute(Qt::WA_DeleteOnClose);
    m_status = new QLabel(tr("Loading the model and predicting %n image(s)…", nullptr, int(images.size())), this);
    m_status->setWordWrap(true);
    m_table = new QTableWidget(int(images.size()), 1 + kTopClasses, this);
    m_table->setHorizontalHeaderLabels({tr("Image"), tr("Top class"), tr("Second"), tr("Third")});
    m_table->verticalHeader()->hide();
    m_table->setEditTriggers(QAbstractItemView::NoEditTriggers);
    m_table->setIconSize(QSize(kThumbnail, kThumbnail));
    m_table->horizontalHeader()->setStretchLastSection(true);
    m_table->verticalHeader()->setDefaultSectionSize(kThumbnail + 6);
    for (int row = 0; row < images.size(); ++row) {
        QImage image(images[row]);
        auto* item = new QTableWidgetItem(QFileInfo(images[row]).fileName());
        if (!image.isNull())
            item->setIcon(QPixmap::fromImage(image.scaled(kThumbnail, kThumbnail, Qt::KeepAspectRatio, Qt::SmoothTransformation)));
        m_table->setItem(row, 0, item);
    }
    auto* buttons = new QDialogButtonBox(QDialogButtonBox::Close, this);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    auto* layout = new QVBoxLayout(this);
    layout->addWidget(m_status);
    layout->addWidget(m_table, 1);
    layout->addWidget(buttons);
    resize(640, 420);

    connect(&m_watcher, &QFutureWatcher<ImagePredictions>::finished, this, [this] { showResult(m_watcher.result()); });
    m_watcher.setFuture(QtConcurrent::run(&PredictionsDialog::predict, databasePath, runId, images));
}

PredictionsDialog::~PredictionsDialog()
{
    m_watcher.waitForFinished();
}

void PredictionsDialog::showResult(const ImagePredictions& result)
{
    m_result = result;
    if (!result.error.isEmpty()) {
        m_status->setText(result.error);
        m_status->setStyleSheet(QStringLiteral("color: #b00020;"));
        emit predictionsReady();
        return;
    }
    m_status->setText(tr("%1: top %2 classes of each image").arg(result.model).arg(kTopClasses)
                      + (result.failed.isEmpty() ? QString() : "\n" + result.failed.join('\n')));
    for (int row = 0; row < result.probabilities.size() && row < m_table->rowCount(); ++row) {
        const QVector<float>& p = result.probabilities[row];
        if (p.isEmpty()) {
            m_table->setItem(row, 1, new QTableWidgetItem(tr("unreadable")));
            continue;
        }
        std::vector<int> order(size_t(p.size()));
        std::iota(order.begin(), order.end(), 0);
        std::sort(order.begin(), order.end(), [&](int a, int b) { return p[a] > p[b]; });
        for (int k = 0; k < kTopClasses && k < int(order.size()); ++k) {
            const int c = order[size_t(k)];
            const QString name = c < result.classNames.size() ? result.classNames[c] : QString::number(c);
            m_table->setItem(row, 1 + k, new QTableWidgetItem(QString("%1  %2%").arg(name).arg(100.0 * p[c], 0, 'f', 1)));
        }
    }
    m_table->resizeColumnsToContents();
    emit predictionsReady();
}
