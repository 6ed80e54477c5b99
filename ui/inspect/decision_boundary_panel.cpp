#include "decision_boundary_panel.h"

#include <QCheckBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QScrollArea>
#include <QSlider>
#include <QSplitter>
#include <QStackedWidget>
#include <QVBoxLayout>
#include <QtConcurrent/QtConcurrentRun>

#include <algorithm>

namespace inspect {

DecisionBoundaryPanel::DecisionBoundaryPanel(QWidget* parent) : QWidget(parent)
{
    m_redrawTimer.setSingleShot(true);
    connect(&m_redrawTimer, &QTimer::timeout, this, &DecisionBoundaryPanel::redraw);
    m_sinceRedraw.start();
    buildUi();
    showMessage(tr("Train a classifier on a 2-D data set (spiral, moons, circles, xor, blobs), or select "
                   "such a run, to see its decision boundary."));
}

template <typename T, typename Apply>
void DecisionBoundaryPanel::whenDone(QFuture<T> future, Apply apply)
{
    // The loads take only values, so one still running when the panel goes away is harmless.
    auto* watcher = new QFutureWatcher<T>(this);
    const int request = m_request;
    ++m_pending;
    connect(watcher, &QFutureWatcher<T>::finished, this, [this, watcher, request, apply] {
        --m_pending;
        if (request == m_request)
            apply(watcher->result());
        watcher->deleteLater();
        if (m_pending == 0)
            emit loadingFinished();
    });
    watcher->setFuture(future);
}

void DecisionBoundaryPanel::buildUi()
{
    m_message = new QLabel(this);
    m_message->setObjectName(QStringLiteral("boundaryMessage"));
    m_message->setWordWrap(true);
    m_message->setAlignment(Qt::AlignCenter);
    m_message->setMargin(16);

    auto* content = new QWidget(this);
    m_view = new BoundaryView(content);
    m_view->setMinimumSize(220, 220);
    m_neurons = new NeuronGrid(content);
    auto* neuronScroll = new QScrollArea(content);
    neuronScroll->setWidget(m_neurons);
    neuronScroll->setWidgetResizable(true);
    neuronScroll->setFrameShape(QFrame::NoFrame);
    auto* splitter = new QSplitter(Qt::Vertical, content);
    splitter->addWidget(m_view);
    splitter->addWidget(neuronScroll);
    splitter->setStretchFactor(0, 3);
    splitter->setStretchFactor(1, 1);
    m_neuronArea = neuronScroll;
    m_neuronArea->setVisible(false);

    m_slider = new QSlider(Qt::Horizontal, content);
    m_slider->setObjectName(QStringLiteral("boundarySlider"));
    m_slider->setRange(0, 0);
    m_slider->setEnabled(false);
    m_slider->setToolTip(tr("Scrub through the recorded boundaries; at the right end it follows the newest"));
    connect(m_slider, &QSlider::valueChanged, this, [this](int value) {
        m_follow = value >= m_slider->maximum();
        scheduleRedraw();
    });
    m_stepLabel = new QLabel(content);
    m_stepLabel->setMinimumWidth(m_stepLabel->fontMetrics().horizontalAdvance(QStringLiteral("step 000000 (00/00)")));
    m_trainBox = new QCheckBox(tr("Train"), content);
    m_trainBox->setChecked(true);
    m_trainBox->setToolTip(tr("Training points: filled"));
    connect(m_trainBox, &QCheckBox::toggled, this, [this](bool on) {
        m_view->setShowTrain(on);
        m_view->replot(QCustomPlot::rpQueuedReplot);
    });
    m_validationBox = new QCheckBox(tr("Validation"), content);
    m_validationBox->setChecked(true);
    m_validationBox->setToolTip(tr("Validation points: ringed in black"));
    connect(m_validationBox, &QCheckBox::toggled, this, [this](bool on) {
        m_view->setShowValidation(on);
        m_view->replot(QCustomPlot::rpQueuedReplot);
    });
    m_status = new QLabel(content);
    m_status->setWordWrap(true);
    m_status->setStyleSheet(QStringLiteral("color: palette(mid);"));

    auto* controls = new QHBoxLayout;
    controls->addWidget(m_slider, 1);
    controls->addWidget(m_stepLabel);
    controls->addWidget(m_trainBox);
    controls->addWidget(m_validationBox);
    auto* contentLayout = new QVBoxLayout(content);
    contentLayout->setContentsMargins(0, 0, 0, 0);
    contentLayout->addWidget(splitter, 1);
    contentLayout->addLayout(controls);
    contentLayout->addWidget(m_status);

    m_stack = new QStackedWidget(this);
    m_stack->addWidget(m_message);
    m_stack->addWidget(content);
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(4, 4, 4, 4);
    layout->addWidget(m_stack);
}

QString DecisionBoundaryPanel::message() const { return m_stack->currentWidget() == m_message ? m_message->text() : QString(); }

void DecisionBoundaryPanel::showMessage(const QString& text)
{
    m_message->setText(text);
    m_stack->setCurrentWidget(m_message);
}

void DecisionBoundaryPanel::reset(const QString& runId)
{
    ++m_request;   // results of earlier loads are dropped
    m_runId = runId;
    m_frames.clear();
    m_neuronFrames.clear();
    m_shownStep = -1;
    m_follow = true;
    m_view->clearBoundary();
    m_neurons->setLayers({});
    m_neuronArea->setVisible(false);
    m_status->clear();
    updateSlider();
}

void DecisionBoundaryPanel::loadPoints(const nnlab::ExperimentSpec& spec)
{
    m_twoD = mayBeTwoD(spec) && spec.isClassification();
    if (!m_twoD) {
        showMessage(spec.isClassification()
                        ? tr("The decision boundary needs a 2-D data set: this experiment's inputs are not 2 features "
                             "(spiral, moons, circles, xor, blobs or a 2-column CSV have them).")
                        : tr("The decision boundary needs a classifier on a 2-D data set (loss cross_entropy)."));
        return;
    }
    m_stack->setCurrentIndex(1);
    m_status->setText(tr("Loading the data set's points…"));
    whenDone(QtConcurrent::run(&loadPlaneData, spec), [this](const PlaneData& data) { applyPoints(data); });
}

void DecisionBoundaryPanel::applyPoints(const PlaneData& data)
{
    if (!data.twoD) {
        m_twoD = false;
        showMessage(tr("The decision boundary needs a 2-D data set: this experiment's inputs are not 2 features."));
        return;
    }
    m_twoD = true;
    m_stack->setCurrentIndex(1);
    m_status->setText(data.error.isEmpty() ? QString() : tr("Points not shown: %1").arg(data.error));
    m_view->setPoints(data.train, data.validation, data.classes);
    m_view->setShowTrain(m_trainBox->isChecked());
    m_view->setShowValidation(m_validationBox->isChecked());
    if (m_frames.empty() && data.error.isEmpty())
        m_status->setText(tr("No boundary recorded yet (inspect.boundary_every_steps)."));
    scheduleRedraw();
}

void DecisionBoundaryPanel::showExperiment(const nnlab::ExperimentSpec& spec)
{
    reset({});
    loadPoints(spec);
}

void DecisionBoundaryPanel::beginLiveRun(const QString& runId, const nnlab::ExperimentSpec& spec)
{
    reset(runId);
    loadPoints(spec);
}

void DecisionBoundaryPanel::addSnapshots(const QString& runId, const std::vector<nnlab::Snapshot>& snapshots)
{
    if (runId != m_runId || !m_twoD)
        return;
    const bool hadFrames = !m_frames.empty();
    for (const nnlab::Snapshot& s : snapshots) {
        if (s.kind == nnlab::SnapshotKind::DecisionBoundary)
            addBoundary(s);
        else if (s.kind == nnlab::SnapshotKind::NeuronBoundary)
            addNeurons(s);
    }
    if (!hadFrames && !m_frames.empty())
        m_status->clear();
    updateSlider();
    if (m_follow)
        scheduleRedraw();
}

void DecisionBoundaryPanel::addBoundary(const nnlab::Snapshot& snapshot)
{
    QString error;
    std::optional<BoundaryGrid> grid = unpackBoundary(snapshot, &error);
    if (!grid) {
        m_status->setText(error);
        return;
    }
    // A resumed run replays steps: a boundary at a step already held replaces what follows.
    while (!m_frames.empty() && m_frames.back().step >= grid->step)
        m_frames.pop_back();
    m_frames.push_back(std::move(*grid));
}

void DecisionBoundaryPanel::addNeurons(const nnlab::Snapshot& snapshot)
{
    std::optional<BoundaryGrid> grid = unpackBoundary(snapshot);
    if (!grid)
        return;
    std::vector<BoundaryGrid>& frames = m_neuronFrames[grid->name];
    while (!frames.empty() && frames.back().step >= grid->step)
        frames.pop_back();
    frames.push_back(std::move(*grid));
}

void DecisionBoundaryPanel::updateSlider()
{
    const QSignalBlocker blocker(m_slider);
    const int last = std::max(0, frameCount() - 1);
    m_slider->setRange(0, last);
    m_slider->setEnabled(frameCount() > 1);
    if (m_follow)
        m_slider->setValue(last);
}

int64_t DecisionBoundaryPanel::stepAt(int position) const
{
    return position >= 0 && position < frameCount() ? m_frames[static_cast<size_t>(position)].step : -1;
}

int DecisionBoundaryPanel::position() const { return m_slider->value(); }

void DecisionBoundaryPanel::setPosition(int position) { m_slider->setValue(position); }

void DecisionBoundaryPanel::scheduleRedraw()
{
    if (m_redrawTimer.isActive())
        return;
    const qint64 since = m_sinceRedraw.elapsed();
    m_redrawTimer.start(static_cast<int>(std::max<qint64>(0, kRedrawIntervalMs - since)));
}

void DecisionBoundaryPanel::redrawNow()
{
    redraw();
    m_view->replot(QCustomPlot::rpImmediateRefresh);
}

void DecisionBoundaryPanel::redraw()
{
    m_redrawTimer.stop();
    m_sinceRedraw.restart();
    ++m_redrawCount;
    const int at = std::clamp(m_slider->value(), 0, std::max(0, frameCount() - 1));
    if (m_frames.empty()) {
        m_stepLabel->clear();
    } else {
        const BoundaryGrid& frame = m_frames[static_cast<size_t>(at)];
        m_shownStep = frame.step;
        m_view->setBoundary(frame);
        m_stepLabel->setText(tr("step %1 (%2/%3)").arg(frame.step).arg(at + 1).arg(frameCount()));
        // Each layer's neurons at the newest step not after the boundary's.
        std::vector<BoundaryGrid> layers;
        for (const auto& [name, frames] : m_neuronFrames) {
            auto it = std::upper_bound(frames.begin(), frames.end(), frame.step,
                                       [](int64_t step, const BoundaryGrid& g) { return step < g.step; });
            if (it != frames.begin())
                layers.push_back(*std::prev(it));
        }
        m_neurons->setLayers(layers);
        m_neuronArea->setVisible(!layers.empty());
    }
    m_view->replot(QCustomPlot::rpQueuedReplot);
}

DecisionBoundaryPanel::Stored DecisionBoundaryPanel::loadStored(const QString& storePath, const QString& runId)
{
    Stored out;
    out.runId = runId;
    nnlab::ExperimentSpec spec;
    if (!storedExperiment(storePath, runId, &spec, &out.error))
        return out;
    out.points = loadPlaneData(spec);
    if (!out.points.twoD)
        return out;
    StoredSnapshots boundaries = readSnapshots(storePath, runId, nnlab::SnapshotKind::DecisionBoundary);
    if (!boundaries.error.isEmpty()) {
        out.error = boundaries.error;
        return out;
    }
    out.boundaries = std::move(boundaries.snapshots);
    out.neurons = readSnapshots(storePath, runId, nnlab::SnapshotKind::NeuronBoundary).snapshots;
    return out;
}

void DecisionBoundaryPanel::showStoredRun(const QString& storePath, const QString& runId)
{
    reset(runId);
    m_stack->setCurrentIndex(1);
    m_status->setText(tr("Reading run %1…").arg(runId));
    whenDone(QtConcurrent::run(&DecisionBoundaryPanel::loadStored, storePath, runId),
             [this](const Stored& stored) { applyStored(stored); });
}

void DecisionBoundaryPanel::applyStored(const Stored& stored)
{
    if (stored.runId != m_runId)
        return;
    if (!stored.error.isEmpty() && !stored.points.twoD) {
        showMessage(stored.error);
        emit errorOccurred(stored.error);
        return;
    }
    for (const nnlab::Snapshot& s : stored.boundaries)
        addBoundary(s);
    for (const nnlab::Snapshot& s : stored.neurons)
        addNeurons(s);
    m_follow = true;
    updateSlider();
    applyPoints(stored.points);
    if (!stored.error.isEmpty())
        m_status->setText(stored.error);
    else if (m_twoD && m_frames.empty())
        m_status->setText(tr("Run %1 recorded no decision boundary (inspect.boundary_every_steps was 0, or it "
                             "was trained before nnlab recorded them).")
                              .arg(stored.runId));
    redraw();
}

} // namespace inspect
