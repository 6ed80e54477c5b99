#include "editor/lr_finder_dialog.h"

#include "editor/lr_finder_worker.h"
#include "editor/number_edit.h"

#include "core/experiment_document.h"
#include "core/training_controller.h"

#include <QDialogButtonBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QMessageBox>
#include <QProgressBar>
#include <QPushButton>
#include <QSpinBox>
#include <QThread>
#include <QVBoxLayout>

#include <qcustomplot.h>

#include <algorithm>
#include <cmath>

namespace {

QString lrText(double lr) { return QString::number(lr, 'g', 3); }

QString durationText(double seconds)
{
    const auto s = static_cast<qint64>(std::max(0.0, std::round(seconds)));
    return QStringLiteral("%1:%2").arg(s / 60).arg(s % 60, 2, 10, QLatin1Char('0'));
}

const QColor kSteepestColor(0xd6, 0x27, 0x28);
const QColor kMinimumColor(0x2c, 0xa0, 0x2c);

// A marker on the smoothed curve at `lr`, with its label above it.
void addMarker(QCustomPlot* plot, QCPGraph* curve, double lr, const QColor& color, const QString& text)
{
    auto* tracer = new QCPItemTracer(plot);
    tracer->setGraph(curve);
    tracer->setGraphKey(lr);
    tracer->setInterpolating(true);
    tracer->setStyle(QCPItemTracer::tsCircle);
    tracer->setSize(10);
    tracer->setPen(QPen(color, 2));
    tracer->setBrush(color);
    auto* line = new QCPItemStraightLine(plot);
    line->point1->setCoords(lr, 0);
    line->point2->setCoords(lr, 1);
    line->setPen(QPen(color, 1, Qt::DashLine));
    auto* label = new QCPItemText(plot);
    label->position->setParentAnchor(tracer->position);
    label->position->setCoords(0, -14);
    label->setPositionAlignment(Qt::AlignHCenter | Qt::AlignBottom);
    label->setText(text);
    label->setColor(color);
    label->setBrush(QBrush(QColor(255, 255, 255, 220)));
    label->setPadding(QMargins(3, 1, 3, 1));
}

} // namespace

LrFinderDialog::LrFinderDialog(ExperimentDocument* document, QWidget* parent)
    : QDialog(parent), m_document(document)
{
    qRegisterMetaType<nnlab::LrFinderResult>();
    qRegisterMetaType<nnlab::LrFinderProgress>();
    setWindowTitle(tr("Find Learning Rate"));
    setObjectName(QStringLiteral("lrFinderDialog"));
    resize(760, 560);

    const nnlab::LrFinderOptions defaults;
    auto* intro = new QLabel(tr("The range test (Smith; fast.ai's lr_find) trains a copy of the model from its initial "
                                "weights while the learning rate grows exponentially, and stops when the loss diverges. "
                                "Runs, checkpoints and the experiment stay as they are until you use a suggestion."));
    intro->setWordWrap(true);
    m_steps = new QSpinBox;
    m_steps->setRange(5, 100000);
    m_steps->setValue(static_cast<int>(defaults.steps));
    m_startLr = new NumberEdit;
    m_startLr->setValue(defaults.startLr);
    m_endLr = new NumberEdit;
    m_endLr->setValue(defaults.endLr);
    for (NumberEdit* e : {m_startLr, m_endLr}) {
        e->setLogarithmicSteps(true);
        e->setMaximumWidth(90);
    }
    m_run = new QPushButton(tr("&Run"));
    m_stop = new QPushButton(tr("S&top"));
    auto* options = new QHBoxLayout;
    options->addWidget(new QLabel(tr("Steps")));
    options->addWidget(m_steps);
    options->addSpacing(12);
    options->addWidget(new QLabel(tr("Learning rate from")));
    options->addWidget(m_startLr);
    options->addWidget(new QLabel(tr("to")));
    options->addWidget(m_endLr);
    options->addStretch();
    options->addWidget(m_run);
    options->addWidget(m_stop);

    m_progress = new QProgressBar;
    m_progress->setRange(0, 1);
    m_progress->setValue(0);
    m_status = new QLabel(tr("Ready: the experiment's optimizer, batch size and data, learning rate from %1 to %2.")
                              .arg(lrText(defaults.startLr), lrText(defaults.endLr)));
    m_plot = new QCustomPlot;
    m_plot->setMinimumHeight(300);
    setUpPlot();
    m_summary = new QLabel;
    m_summary->setWordWrap(true);
    m_summary->setTextInteractionFlags(Qt::TextSelectableByMouse);

    m_useSteepest = new QPushButton(tr("Use steepest"));
    m_useMinimum = new QPushButton(tr("Use minimum/10"));
    m_useOneCycle = new QPushButton(tr("Use as one-cycle max"));
    m_useSteepest->setToolTip(tr("Set optimizer.lr to where the loss falls fastest"));
    m_useMinimum->setToolTip(tr("Set optimizer.lr to a tenth of the learning rate of the lowest loss"));
    m_useOneCycle->setToolTip(tr("Set schedule.type to onecycle with this maximum learning rate (optimizer.lr)"));
    auto* buttons = new QDialogButtonBox(QDialogButtonBox::Close);
    buttons->addButton(m_useSteepest, QDialogButtonBox::ActionRole);
    buttons->addButton(m_useMinimum, QDialogButtonBox::ActionRole);
    buttons->addButton(m_useOneCycle, QDialogButtonBox::ActionRole);
    for (QPushButton* b : {m_useSteepest, m_useMinimum, m_useOneCycle, m_run, m_stop})
        b->setAutoDefault(false);

    auto* layout = new QVBoxLayout(this);
    layout->addWidget(intro);
    layout->addLayout(options);
    layout->addWidget(m_progress);
    layout->addWidget(m_status);
    layout->addWidget(m_plot, 1);
    layout->addWidget(m_summary);
    layout->addWidget(buttons);

    connect(m_run, &QPushButton::clicked, this, &LrFinderDialog::start);
    connect(m_stop, &QPushButton::clicked, this, &LrFinderDialog::cancel);
    connect(buttons, &QDialogButtonBox::rejected, this, &LrFinderDialog::reject);
    connect(m_useSteepest, &QPushButton::clicked, this, [this] { useLearningRate(m_result.suggestions.steepest, false); });
    connect(m_useMinimum, &QPushButton::clicked, this, [this] { useLearningRate(m_result.suggestions.minimum, false); });
    connect(m_useOneCycle, &QPushButton::clicked, this, [this] { useLearningRate(m_result.suggestions.oneCycleMax, true); });
    setRunning(false);
}

LrFinderDialog::~LrFinderDialog()
{
    if (m_worker)
        m_worker->cancel();
    if (m_thread) {
        m_thread->quit();
        m_thread->wait();
    }
}

LrFinderDialog* LrFinderDialog::openFor(ExperimentDocument* document, const TrainingController* controller, QWidget* parent)
{
    if (controller && controller->isRunning()) {
        QMessageBox::information(parent, tr("Find Learning Rate"),
                                 tr("A training run is in progress. The range test needs the same cores: stop the "
                                    "run or wait for it to finish, then try again."));
        return nullptr;
    }
    auto* dialog = new LrFinderDialog(document, parent);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    dialog->show();
    dialog->start();
    return dialog;
}

void LrFinderDialog::setUpPlot()
{
    m_plot->xAxis->setScaleType(QCPAxis::stLogarithmic);
    auto ticker = QSharedPointer<QCPAxisTickerLog>::create();
    ticker->setLogBase(10);
    m_plot->xAxis->setTicker(ticker);
    m_plot->xAxis->setNumberFormat(QStringLiteral("eb"));
    m_plot->xAxis->setNumberPrecision(0);
    m_plot->xAxis->setLabel(tr("learning rate (log scale)"));
    m_plot->yAxis->setLabel(tr("training loss"));
    m_plot->xAxis->grid()->setSubGridVisible(true);
    QCPGraph* raw = m_plot->addGraph();
    raw->setName(tr("loss per step"));
    raw->setPen(QPen(QColor(160, 160, 160, 160), 1));
    QCPGraph* smoothed = m_plot->addGraph();
    smoothed->setName(tr("smoothed loss"));
    smoothed->setPen(QPen(QColor(0x1f, 0x77, 0xb4), 2));
    m_plot->legend->setVisible(true);
    m_plot->axisRect()->insetLayout()->setInsetAlignment(0, Qt::AlignTop | Qt::AlignLeft);
    m_plot->xAxis->setRange(1e-7, 10);
}

void LrFinderDialog::start()
{
    if (m_thread)
        return;
    nnlab::LrFinderOptions options;
    options.steps = m_steps->value();
    options.startLr = m_startLr->value();
    options.endLr = m_endLr->value();
    const std::string invalid = nnlab::validateLrFinderOptions(options);
    if (!invalid.empty()) {
        m_status->setText(tr("Cannot run: %1").arg(QString::fromStdString(invalid)));
        return;
    }
    if (!m_document->isValid()) {
        m_status->setText(tr("Cannot run: the experiment has problems (%1). Fix them first.")
                              .arg(QString::fromStdString(m_document->problems().front().text())));
        return;
    }
    m_result = {};
    m_summary->clear();
    m_plot->clearItems();
    for (int i = 0; i < m_plot->graphCount(); ++i)
        m_plot->graph(i)->data()->clear();
    m_plot->replot();
    m_progress->setRange(0, static_cast<int>(options.steps));
    m_progress->setValue(0);
    m_status->setText(tr("Starting…"));

    m_thread = new QThread(this);
    m_thread->setObjectName(QStringLiteral("nnlab-lr-finder"));
    auto* worker = new LrFinderWorker(m_document->spec(), options);
    m_worker = worker;
    worker->moveToThread(m_thread);
    connect(m_thread, &QThread::started, worker, &LrFinderWorker::run);
    connect(m_thread, &QThread::finished, worker, &QObject::deleteLater);
    connect(worker, &LrFinderWorker::stage, m_status, &QLabel::setText);
    connect(worker, &LrFinderWorker::progress, this, &LrFinderDialog::onProgress);
    connect(worker, &LrFinderWorker::finished, this, [this](const nnlab::LrFinderResult& result) {
        endRun();
        showResult(result);
        emit runEnded();
    });
    connect(worker, &LrFinderWorker::cancelled, this, [this] {
        endRun();
        m_status->setText(tr("Stopped."));
        emit runEnded();
    });
    connect(worker, &LrFinderWorker::failed, this, [this](const QString& message) {
        endRun();
        m_status->setText(tr("Failed: %1").arg(message));
        emit runEnded();
    });
    setRunning(true);
    m_thread->start();
}

void LrFinderDialog::cancel()
{
    if (m_worker)
        m_worker->cancel();
}

void LrFinderDialog::reject()
{
    cancel();
    QDialog::reject();
}

void LrFinderDialog::onProgress(const nnlab::LrFinderProgress& p)
{
    m_progress->setMaximum(static_cast<int>(p.totalSteps));
    m_progress->setValue(static_cast<int>(p.step));
    m_status->setText(tr("Step %1 of %2 · learning rate %3 · smoothed loss %4 · ETA %5")
                          .arg(p.step)
                          .arg(p.totalSteps)
                          .arg(lrText(p.lr))
                          .arg(p.smoothedLoss, 0, 'f', 4)
                          .arg(durationText(p.etaSeconds)));
}

void LrFinderDialog::endRun()
{
    if (m_thread) {
        m_thread->quit();
        m_thread->wait();
        m_thread->deleteLater();
        m_thread = nullptr;
    }
    m_worker = nullptr;
    setRunning(false);
}

void LrFinderDialog::setRunning(bool running)
{
    m_run->setEnabled(!running);
    m_stop->setEnabled(running);
    m_steps->setEnabled(!running);
    m_startLr->setEnabled(!running);
    m_endLr->setEnabled(!running);
    const bool usable = !running && m_result.suggestions.valid;
    for (QPushButton* b : {m_useSteepest, m_useMinimum, m_useOneCycle})
        b->setEnabled(usable);
}

void LrFinderDialog::showResult(const nnlab::LrFinderResult& result)
{
    m_result = result;
    const auto& points = result.points;
    QVector<double> lrs, losses, smoothed;
    for (const auto& p : points) {
        lrs.push_back(p.lr);
        losses.push_back(p.loss);
        smoothed.push_back(p.smoothedLoss);
    }
    QCPGraph* raw = m_plot->graph(0);
    QCPGraph* curve = m_plot->graph(1);
    raw->setData(lrs, losses, true);
    curve->setData(lrs, smoothed, true);
    m_plot->clearItems();

    const nnlab::LrSuggestions& s = result.suggestions;
    if (!points.empty()) {
        // Up to where it blew up, the interesting part is the fall: the y range spans the
        // lowest smoothed loss to a little above the highest one before it, so that the rise
        // shows but a divergence to huge losses does not flatten the rest.
        const auto lowest = std::min_element(smoothed.begin(), smoothed.end());
        const double low = *lowest;
        const double before = *std::max_element(smoothed.begin(), lowest + 1);
        const double span = std::max(before - low, 0.05 * std::max(std::abs(low), 1e-3));
        m_plot->yAxis->setRange(low - 0.1 * span, before + 0.35 * span);
        m_plot->xAxis->setRange(points.front().lr, points.back().lr);
    }
    if (s.valid) {
        addMarker(m_plot, curve, s.steepest, kSteepestColor, tr("steepest %1").arg(lrText(s.steepest)));
        addMarker(m_plot, curve, s.minimum, kMinimumColor, tr("minimum/10 %1").arg(lrText(s.minimum)));
        m_useSteepest->setText(tr("Use steepest (%1)").arg(lrText(s.steepest)));
        m_useMinimum->setText(tr("Use minimum/10 (%1)").arg(lrText(s.minimum)));
        m_useOneCycle->setText(tr("Use as one-cycle max (%1)").arg(lrText(s.oneCycleMax)));
        m_summary->setText(tr("Steepest descent at %1; lowest smoothed loss %2 at %3, so minimum/10 = %4. "
                              "The experiment uses %5 now.")
                               .arg(lrText(s.steepest))
                               .arg(s.minimumLoss, 0, 'f', 4)
                               .arg(lrText(s.minimumLossLr), lrText(s.minimum), lrText(m_document->spec().optimizer.lr)));
    } else {
        m_summary->setText(tr("Too few steps were recorded to suggest a learning rate; try more steps."));
    }
    m_status->setText(tr("%1 steps in %2 s%3")
                          .arg(points.size())
                          .arg(result.seconds, 0, 'f', 1)
                          .arg(result.message.empty() ? QString() : QStringLiteral(" · ") + QString::fromStdString(result.message)));
    // A test that stopped at divergence is complete too: the bar shows it full.
    m_progress->setMaximum(std::max<int>(1, static_cast<int>(result.diverged ? points.size() : result.options.steps)));
    m_progress->setValue(static_cast<int>(points.size()));
    m_plot->replot();
    setRunning(false);
}

void LrFinderDialog::useLearningRate(double suggested, bool oneCycle)
{
    // Three significant digits, as the button shows it: the file then reads 0.00349.
    const double lr = lrText(suggested).toDouble();
    if (!(lr > 0))
        return;
    if (oneCycle) {
        m_document->apply(tr("One-cycle schedule, max learning rate %1 (LR finder)").arg(lrText(lr)),
                          [lr](nnlab::ExperimentSpec& spec) {
                              spec.schedule.type = "onecycle";
                              spec.optimizer.lr = lr;
                          });
    } else {
        m_document->apply(tr("Learning rate %1 (LR finder)").arg(lrText(lr)),
                          [lr](nnlab::ExperimentSpec& spec) { spec.optimizer.lr = lr; });
    }
    m_summary->setText(m_summary->text().section(QStringLiteral(" The experiment uses"), 0, 0)
                       + tr(" The experiment uses %1 now%2.")
                             .arg(lrText(m_document->spec().optimizer.lr),
                                  oneCycle ? tr(" as the one-cycle maximum") : QString()));
}
