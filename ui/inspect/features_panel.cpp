#include "features_panel.h"

#include "feature_images.h"

#include "editor/image_grid.h"

#include "nnlab/data.h"
#include "nnlab/predict_input.h"
#include "nnlab/store.h"

#include <QComboBox>
#include <QDragEnterEvent>
#include <QFileInfo>
#include <QFutureWatcher>
#include <QHBoxLayout>
#include <QLabel>
#include <QMimeData>
#include <QScrollArea>
#include <QSpinBox>
#include <QSplitter>
#include <QVBoxLayout>
#include <QtConcurrent/QtConcurrentRun>

#include <algorithm>

namespace inspect {

namespace {
constexpr int64_t kMaxSamples = 1000;   // validation inputs kept for choosing one
constexpr int kMaxMapsShown = 64;

template <typename T, typename Apply>
void whenDone(QObject* owner, int* pending, QFuture<T> future, Apply apply, std::function<void()> done)
{
    auto* watcher = new QFutureWatcher<T>(owner);
    ++*pending;
    QObject::connect(watcher, &QFutureWatcher<T>::finished, owner, [watcher, pending, apply, done] {
        --*pending;
        apply(watcher->result());
        watcher->deleteLater();
        if (*pending == 0)
            done();
    });
    watcher->setFuture(future);
}
} // namespace

FeaturesPanel::FeaturesPanel(QWidget* parent) : QWidget(parent)
{
    setAcceptDrops(true);
    buildUi();
}

void FeaturesPanel::buildUi()
{
    m_status = new QLabel(this);
    m_status->setWordWrap(true);
    m_status->setStyleSheet(QStringLiteral("color: palette(mid);"));
    m_status->setText(tr("Select a trained run to see its filters and feature maps."));

    m_filtersTitle = new QLabel(tr("First-layer filters"), this);
    m_filters = new ImageGrid(this);
    m_filters->setObjectName(QStringLiteral("filterGrid"));
    m_filters->setColumns(8);

    m_layerCombo = new QComboBox(this);
    m_layerCombo->setObjectName(QStringLiteral("featureLayer"));
    m_layerCombo->setMinimumContentsLength(18);
    connect(m_layerCombo, &QComboBox::activated, this, [this] { requestMaps(); });
    m_sampleSpin = new QSpinBox(this);
    m_sampleSpin->setObjectName(QStringLiteral("featureSample"));
    m_sampleSpin->setPrefix(tr("validation #"));
    m_sampleSpin->setRange(0, 0);
    m_sampleSpin->setToolTip(tr("The input: a validation sample by number, or drop an image file on this dock"));
    connect(m_sampleSpin, qOverload<int>(&QSpinBox::valueChanged), this, [this] {
        m_droppedInput.clear();
        requestMaps();
    });
    m_input = new QLabel(this);
    m_input->setFixedSize(72, 72);
    m_input->setAlignment(Qt::AlignCenter);
    m_input->setFrameShape(QFrame::StyledPanel);
    m_mapsTitle = new QLabel(tr("Feature maps"), this);
    m_mapsTitle->setWordWrap(true);
    m_maps = new ImageGrid(this);
    m_maps->setObjectName(QStringLiteral("featureMapGrid"));
    m_maps->setColumns(8);

    auto* left = new QWidget(this);
    auto* leftLayout = new QVBoxLayout(left);
    leftLayout->setContentsMargins(0, 0, 0, 0);
    leftLayout->addWidget(m_filtersTitle);
    leftLayout->addWidget(m_filters);
    leftLayout->addStretch(1);
    auto* leftScroll = new QScrollArea(this);
    leftScroll->setWidget(left);
    leftScroll->setWidgetResizable(true);
    leftScroll->setFrameShape(QFrame::NoFrame);

    auto* right = new QWidget(this);
    auto* rightLayout = new QVBoxLayout(right);
    rightLayout->setContentsMargins(0, 0, 0, 0);
    auto* controls = new QHBoxLayout;
    auto* choose = new QVBoxLayout;
    auto* layerRow = new QHBoxLayout;
    layerRow->addWidget(new QLabel(tr("Layer"), this));
    layerRow->addWidget(m_layerCombo, 1);
    choose->addLayout(layerRow);
    choose->addWidget(m_sampleSpin);
    choose->addWidget(m_mapsTitle);
    controls->addLayout(choose, 1);
    controls->addWidget(m_input);
    rightLayout->addLayout(controls);
    rightLayout->addWidget(m_maps);
    rightLayout->addStretch(1);
    auto* rightScroll = new QScrollArea(this);
    rightScroll->setWidget(right);
    rightScroll->setWidgetResizable(true);
    rightScroll->setFrameShape(QFrame::NoFrame);

    auto* splitter = new QSplitter(Qt::Horizontal, this);
    splitter->addWidget(leftScroll);
    splitter->addWidget(rightScroll);
    splitter->setStretchFactor(0, 2);
    splitter->setStretchFactor(1, 3);
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(4, 4, 4, 4);
    layout->addWidget(m_status);
    layout->addWidget(splitter, 1);
}

QString FeaturesPanel::status() const { return m_status->text(); }

FeaturesPanel::Loaded FeaturesPanel::loadModel(const QString& storePath, const QString& runId)
{
    Loaded out;
    out.runId = runId;
    try {
        nnlab::StoreOptions options;
        options.readOnly = true;
        auto opened = nnlab::RunStore::open(storePath.toStdString(), options);
        if (!opened.ok()) {
            out.error = QString::fromStdString(opened.error.message);
            return out;
        }
        auto model = std::make_shared<Model>();
        auto weights = std::make_shared<nnlab::TrainedWeights>(nnlab::loadTrainedWeights(*opened.value, runId.toStdString()));
        model->filters = nnlab::firstLayerFilters(*weights);
        model->layers = nnlab::inspectableLayers(*weights);
        // The validation split as training made it, back in raw units for featureMaps.
        const nnlab::ExperimentSpec& spec = weights->spec;
        const nnlab::DataBundle data = nnlab::loadData(spec.data, spec.isClassification(), spec.seed);
        const nnlab::Dataset& split = data.validation.count() > 0 ? data.validation : data.train;
        const int64_t size = split.sampleSize();
        const int64_t count = std::min<int64_t>(split.count(), kMaxSamples);
        const size_t channels = data.inputShift.size();
        const int64_t plane = channels > 0 && size % static_cast<int64_t>(channels) == 0 ? size / static_cast<int64_t>(channels) : 1;
        model->samples.assign(split.features.begin(), split.features.begin() + count * size);
        if (channels > 0 && data.inputScale.size() == channels)
            for (int64_t i = 0; i < count * size; ++i) {
                const size_t c = static_cast<size_t>(((i % size) / plane) % static_cast<int64_t>(channels));
                model->samples[static_cast<size_t>(i)] = model->samples[static_cast<size_t>(i)] * data.inputScale[c] + data.inputShift[c];
            }
        model->labels.assign(split.labels.begin(), split.labels.begin() + std::min<int64_t>(count, static_cast<int64_t>(split.labels.size())));
        model->classNames = data.classNames;
        model->sampleSize = size;
        model->weights = std::move(weights);
        out.model = std::move(model);
    } catch (const std::exception& e) {
        out.error = QString::fromUtf8(e.what());
    }
    return out;
}

void FeaturesPanel::showStoredRun(const QString& storePath, const QString& runId)
{
    if (runId == m_runId && (m_model || m_pending > 0))
        return;
    ++m_request;
    m_runId = runId;
    m_model.reset();
    m_droppedInput.clear();
    m_filters->setSamples({});
    m_maps->setSamples({});
    m_layerCombo->clear();
    m_input->clear();
    m_status->setText(tr("Loading run %1's model and validation set…").arg(runId));
    const int request = m_request;
    whenDone(this, &m_pending, QtConcurrent::run(&FeaturesPanel::loadModel, storePath, runId),
             [this, request](const Loaded& loaded) {
                 if (request == m_request)
                     applyModel(loaded);
             },
             [this] { emit loadingFinished(); });
}

void FeaturesPanel::applyModel(const Loaded& loaded)
{
    if (!loaded.model) {
        m_status->setText(tr("Run %1: %2").arg(loaded.runId, loaded.error));
        return;
    }
    m_model = loaded.model;
    const Model& m = *m_model;
    m_status->setText(tr("Run %1 (%2), best checkpoint. Drop an image file here to see its feature maps.")
                          .arg(loaded.runId, QString::fromStdString(m.weights->runName)));
    QVector<ImageGrid::Sample> filters;
    if (m.filters.shape.size() == 4)
        for (int i = 0; i < m.filters.shape[0]; ++i)
            filters.push_back({filterImage(m.filters, i), QStringLiteral("#%1").arg(i)});
    m_filters->setSamples(filters);
    m_filtersTitle->setText(filters.isEmpty()
                                ? tr("First-layer filters: the model has no conv2d layer")
                                : tr("First-layer filters: layer %1, %2 x %3 x %4 x %5 (grey 0, white +, black −)")
                                      .arg(QString::fromStdString(m.filters.layerPath))
                                      .arg(m.filters.shape[0])
                                      .arg(m.filters.shape[1])
                                      .arg(m.filters.shape[2])
                                      .arg(m.filters.shape[3]));
    {
        const QSignalBlocker blocker(m_layerCombo);
        m_layerCombo->clear();
        for (const nnlab::InspectableLayer& l : m.layers) {
            QStringList shape;
            for (int64_t d : l.outputShape)
                shape << QString::number(d);
            m_layerCombo->addItem(QStringLiteral("%1 %2 [%3]").arg(QString::fromStdString(l.path), QString::fromStdString(l.type),
                                                                 shape.join(QLatin1Char('x'))),
                                  QString::fromStdString(l.path));
        }
        m_layerCombo->setCurrentIndex(0);
    }
    {
        const QSignalBlocker blocker(m_sampleSpin);
        const int64_t count = m.sampleSize > 0 ? static_cast<int64_t>(m.samples.size()) / m.sampleSize : 0;
        m_sampleSpin->setRange(0, static_cast<int>(std::max<int64_t>(0, count - 1)));
        m_sampleSpin->setValue(0);
    }
    requestMaps();
}

void FeaturesPanel::setLayer(const QString& layerPath)
{
    const int index = m_layerCombo->findData(layerPath);
    if (index < 0)
        return;
    m_layerCombo->setCurrentIndex(index);
    requestMaps();
}

void FeaturesPanel::setSample(int index) { m_sampleSpin->setValue(index); }

void FeaturesPanel::requestMaps()
{
    if (!m_model || m_model->sampleSize <= 0)
        return;
    if (!m_droppedInput.empty()) {
        requestMapsFor(m_droppedInput, m_droppedName);
        return;
    }
    const int64_t index = m_sampleSpin->value();
    const int64_t size = m_model->sampleSize;
    if ((index + 1) * size > static_cast<int64_t>(m_model->samples.size()))
        return;
    std::vector<float> raw(m_model->samples.begin() + index * size, m_model->samples.begin() + (index + 1) * size);
    QString name = tr("validation #%1").arg(index);
    if (index < static_cast<int64_t>(m_model->labels.size())) {
        const int64_t label = m_model->labels[static_cast<size_t>(index)];
        if (label >= 0 && label < static_cast<int64_t>(m_model->classNames.size()))
            name += QStringLiteral(" (%1)").arg(QString::fromStdString(m_model->classNames[static_cast<size_t>(label)]));
    }
    requestMapsFor(std::move(raw), name);
}

void FeaturesPanel::requestMapsFor(std::vector<float> raw, const QString& inputName)
{
    const QString layer = m_layerCombo->currentData().toString();
    if (layer.isEmpty())
        return;
    const auto& shape = m_model->weights->interface.sampleShape;
    if (shape.size() == 3 && (shape[0] == 1 || shape[0] == 3)) {
        QImage preview = planarImage(raw.data(), static_cast<int>(shape[0]), static_cast<int>(shape[1]), static_cast<int>(shape[2]));
        m_input->setPixmap(QPixmap::fromImage(preview.scaled(m_input->size() - QSize(4, 4), Qt::KeepAspectRatio)));
    }
    const int request = ++m_mapRequest;
    const int runRequest = m_request;
    std::shared_ptr<const Model> model = m_model;
    m_mapsTitle->setText(tr("Computing layer %1 for %2…").arg(layer, inputName));
    whenDone(this, &m_pending,
             QtConcurrent::run([model, layer, raw = std::move(raw), inputName] {
                 Maps out;
                 out.inputName = inputName;
                 try {
                     out.maps = nnlab::featureMaps(*model->weights, layer.toStdString(), raw);
                 } catch (const std::exception& e) {
                     out.error = QString::fromUtf8(e.what());
                 }
                 return out;
             }),
             [this, request, runRequest](const Maps& maps) {
                 if (request == m_mapRequest && runRequest == m_request)
                     applyMaps(maps);
             },
             [this] { emit loadingFinished(); });
}

void FeaturesPanel::applyMaps(const Maps& result)
{
    if (!result.error.isEmpty()) {
        m_mapsTitle->setText(result.error);
        m_maps->setSamples({});
        return;
    }
    const nnlab::FeatureMaps& maps = result.maps;
    QVector<ImageGrid::Sample> samples;
    const int count = featureMapCount(maps);
    for (int c = 0; c < std::min(count, kMaxMapsShown); ++c)
        samples.push_back({featureMapImage(maps, c), maps.shape.size() == 3 ? QStringLiteral("#%1").arg(c) : tr("%1 values").arg(maps.values.size())});
    m_maps->setSamples(samples);
    QStringList shape;
    for (int64_t d : maps.shape)
        shape << QString::number(d);
    m_mapsTitle->setText(tr("Layer %1 (%2) of %3: %4%5")
                             .arg(QString::fromStdString(maps.layerPath), QString::fromStdString(maps.layerType), result.inputName,
                                  shape.join(QLatin1Char('x')),
                                  count > kMaxMapsShown ? tr(", the first %1 maps shown").arg(kMaxMapsShown) : QString()));
}

void FeaturesPanel::showImageFile(const QString& path)
{
    if (!m_model)
        return;
    try {
        const nnlab::PredictInput input = nnlab::readPredictInput(path.toStdString(), m_model->weights->interface);
        if (input.count() < 1)
            return;
        m_droppedInput.assign(input.features.begin(), input.features.begin() + m_model->sampleSize);
        m_droppedName = QFileInfo(path).fileName();
        requestMaps();
    } catch (const std::exception& e) {
        m_mapsTitle->setText(QString::fromUtf8(e.what()));
    }
}

void FeaturesPanel::dragEnterEvent(QDragEnterEvent* event)
{
    if (m_model && event->mimeData()->hasUrls())
        event->acceptProposedAction();
}

void FeaturesPanel::dropEvent(QDropEvent* event)
{
    const QList<QUrl> urls = event->mimeData()->urls();
    if (!urls.isEmpty() && urls.first().isLocalFile()) {
        showImageFile(urls.first().toLocalFile());
        event->acceptProposedAction();
    }
}

} // namespace inspect
