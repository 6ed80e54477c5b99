#include "hyperparameters_panel.h"

#include "editor_util.h"
#include "form_binder.h"
#include "number_edit.h"

#include <QFormLayout>
#include <QGroupBox>
#include <QLabel>
#include <QLineEdit>
#include <QRegularExpressionValidator>
#include <QScrollArea>
#include <QSpinBox>
#include <QVBoxLayout>

#include <qcustomplot.h>

#include <limits>

namespace {

using S = nnlab::ExperimentSpec;

QFormLayout* groupForm(QGroupBox* group)
{
    auto* form = new QFormLayout(group);
    form->setFieldGrowthPolicy(QFormLayout::AllNonFixedFieldsGrow);
    return form;
}

} // namespace

HyperparametersPanel::HyperparametersPanel(ExperimentDocument* doc, QWidget* parent) : QWidget(parent), m_doc(doc)
{
    auto* content = new QWidget(this);
    auto* column = new QVBoxLayout(content);
    column->addWidget(buildOptimizer());
    column->addWidget(buildSchedule());
    column->addWidget(buildTraining());
    column->addStretch(1);

    auto* scroll = new QScrollArea(this);
    scroll->setWidget(content);
    scroll->setWidgetResizable(true);
    scroll->setFrameShape(QFrame::NoFrame);
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(scroll);

    connect(m_doc, &ExperimentDocument::specChanged, this, &HyperparametersPanel::refresh);
    refresh();
}

QWidget* HyperparametersPanel::buildOptimizer()
{
    auto* group = new QGroupBox(tr("Optimizer"), this);
    m_optimizer = new FormBinder(m_doc, groupForm(group), this);
    m_optimizer->addChoice(tr("Optimizer"), "optimizer.type", {"sgd", "adam", "adamw", "rmsprop"},
                           tr("Update rule; adamw decouples weight decay from the gradient"),
                           [](const S& s) { return s.optimizer.type; }, [](S& s, std::string v) { s.optimizer.type = v; });
    m_optimizer->addLogNumber(tr("Learning rate"), "optimizer.lr",
                              tr("Base step size, > 0; type 3e-4 or drag the slider (log scale); Up/Down step by 10^0.1"),
                              [](const S& s) { return s.optimizer.lr; }, [](S& s, double v) { s.optimizer.lr = v; });
    m_optimizer->addDecimal(tr("Momentum"), "optimizer.momentum", 0, 1, 0.05, 3,
                            tr("Share of the previous update carried into the next, 0..1"),
                            [](const S& s) { return s.optimizer.momentum; }, [](S& s, double v) { s.optimizer.momentum = v; });
    m_optimizer->addBool(tr("Nesterov"), "optimizer.nesterov", tr("Nesterov momentum; needs momentum > 0"),
                         [](const S& s) { return s.optimizer.nesterov; }, [](S& s, bool v) { s.optimizer.nesterov = v; });
    m_optimizer->addNumber(tr("Weight decay"), "optimizer.weight_decay",
                           tr("L2 penalty (decoupled for adamw), >= 0; e.g. 1e-4 or 0.01"),
                           [](const S& s) { return s.optimizer.weightDecay; }, [](S& s, double v) { s.optimizer.weightDecay = v; });
    m_optimizer->addNumber(tr("Beta 1"), "optimizer.betas[0]", tr("Decay of the running mean of gradients, 0..1"),
                           [](const S& s) { return s.optimizer.beta1; }, [](S& s, double v) { s.optimizer.beta1 = v; });
    m_optimizer->addNumber(tr("Beta 2"), "optimizer.betas[1]", tr("Decay of the running mean of squared gradients, 0..1"),
                           [](const S& s) { return s.optimizer.beta2; }, [](S& s, double v) { s.optimizer.beta2 = v; });
    m_optimizer->addNumber(tr("Epsilon"), "optimizer.eps", tr("Added to the denominator for stability, > 0"),
                           [](const S& s) { return s.optimizer.eps; }, [](S& s, double v) { s.optimizer.eps = v; });
    m_optimizer->addNumber(tr("Alpha"), "optimizer.alpha", tr("RMSprop smoothing of squared gradients, 0..1"),
                           [](const S& s) { return s.optimizer.alpha; }, [](S& s, double v) { s.optimizer.alpha = v; });
    return group;
}

QWidget* HyperparametersPanel::buildSchedule()
{
    auto* group = new QGroupBox(tr("Learning-rate schedule"), this);
    auto* column = new QVBoxLayout(group);
    auto* form = new QFormLayout;
    form->setFieldGrowthPolicy(QFormLayout::AllNonFixedFieldsGrow);
    column->addLayout(form);
    m_schedule = new FormBinder(m_doc, form, this);
    m_schedule->addChoice(tr("Schedule"), "schedule.type",
                          {"constant", "step", "exponential", "cosine", "warmup_cosine", "onecycle"},
                          tr("How the learning rate changes over the run"),
                          [](const S& s) { return s.schedule.type; }, [](S& s, std::string v) { s.schedule.type = v; });
    m_schedule->addInt(tr("Warm-up steps"), "schedule.warmup_steps", 0, std::numeric_limits<int>::max(),
                       tr("Steps of linear rise to the learning rate at the start; 0 = none (warmup_cosine: 5% of the run)"),
                       [](const S& s) { return s.schedule.warmupSteps; }, [](S& s, int64_t v) { s.schedule.warmupSteps = v; });
    m_schedule->addInt(tr("Step size"), "schedule.step_size", 1, std::numeric_limits<int>::max(),
                       tr("Epochs between two decays by gamma"),
                       [](const S& s) { return s.schedule.stepSize; }, [](S& s, int64_t v) { s.schedule.stepSize = v; });
    m_schedule->addNumber(tr("Gamma"), "schedule.gamma", tr("Factor the rate is multiplied by at each decay (per epoch), 0 < g <= 1"),
                          [](const S& s) { return s.schedule.gamma; }, [](S& s, double v) { s.schedule.gamma = v; });
    m_schedule->addNumber(tr("Final learning rate"), "schedule.min_lr", tr("Where the cosine ends, >= 0"),
                          [](const S& s) { return s.schedule.minLr; }, [](S& s, double v) { s.schedule.minLr = v; });
    m_schedule->addDecimal(tr("Rising share"), "schedule.pct_start", 0.001, 0.999, 0.05, 3,
                           tr("Share of the steps spent rising to the learning rate"),
                           [](const S& s) { return s.schedule.pctStart; }, [](S& s, double v) { s.schedule.pctStart = v; });
    m_schedule->addNumber(tr("Div factor"), "schedule.div_factor", tr("Starting rate = learning rate / div factor, >= 1"),
                          [](const S& s) { return s.schedule.divFactor; }, [](S& s, double v) { s.schedule.divFactor = v; });
    m_schedule->addNumber(tr("Final div factor"), "schedule.final_div_factor",
                          tr("Final rate = starting rate / final div factor, >= 1"),
                          [](const S& s) { return s.schedule.finalDivFactor; }, [](S& s, double v) { s.schedule.finalDivFactor = v; });

    m_planLabel = new QLabel(group);
    m_planLabel->setObjectName(QStringLiteral("stepPlan"));
    m_planLabel->setWordWrap(true);
    m_plot = new QCustomPlot(group);
    m_plot->setObjectName(QStringLiteral("schedulePlot"));
    m_plot->setMinimumHeight(170);
    m_plot->addGraph();
    m_plot->graph(0)->setPen(QPen(QColor(0x1f, 0x77, 0xb4), 1.6));
    m_plot->graph(0)->setBrush(QColor(0x1f, 0x77, 0xb4, 40));
    m_plot->xAxis->setLabel(tr("step"));
    m_plot->yAxis->setLabel(tr("learning rate"));
    m_plot->yAxis->setNumberFormat(QStringLiteral("g"));
    m_plot->yAxis->setNumberPrecision(2);
    QFont tickFont = font();
    tickFont.setPointSizeF(font().pointSizeF() * 0.85);
    m_plot->xAxis->setTickLabelFont(tickFont);
    m_plot->yAxis->setTickLabelFont(tickFont);
    // Below the form, not spanning rows in it: see FormBinder::setRowVisible.
    column->addWidget(m_planLabel);
    column->addWidget(m_plot);
    return group;
}

QWidget* HyperparametersPanel::buildTraining()
{
    auto* group = new QGroupBox(tr("Training"), this);
    m_training = new FormBinder(m_doc, groupForm(group), this);
    m_training->addChoice(tr("Loss"), "loss", {"cross_entropy", "mse"},
                          tr("cross_entropy for classes, mse for regression targets"),
                          [](const S& s) { return s.loss; }, [](S& s, std::string v) { s.loss = v; });
    m_training->addInt(tr("Epochs"), "training.epochs", 1, 100000, tr("Passes over the training data"),
                       [](const S& s) { return s.training.epochs; }, [](S& s, int64_t v) { s.training.epochs = v; });
    m_training->addInt(tr("Batch size"), "training.batch_size", 1, 1 << 20, tr("Samples per optimizer step"),
                       [](const S& s) { return s.training.batchSize; }, [](S& s, int64_t v) { s.training.batchSize = v; });
    m_training->addInt(tr("Eval batch size"), "training.eval_batch_size", 0, 1 << 20,
                       tr("Samples per batch when evaluating validation and test; 0 = the training batch size"),
                       [](const S& s) { return s.training.evalBatchSize; }, [](S& s, int64_t v) { s.training.evalBatchSize = v; })
        ->setSpecialValueText(tr("same as batch size"));
    m_training->addNumber(tr("Clip gradient norm"), "training.grad_clip_norm",
                          tr("Scale gradients down when their global norm exceeds this; 0 = off"),
                          [](const S& s) { return s.training.gradClipNorm; }, [](S& s, double v) { s.training.gradClipNorm = v; });
    m_training->addNumber(tr("Clip gradient value"), "training.grad_clip_value", tr("Clamp each gradient to ±this; 0 = off"),
                          [](const S& s) { return s.training.gradClipValue; }, [](S& s, double v) { s.training.gradClipValue = v; });
    // A seed is a 64-bit integer; a spin box would stop at 2^31.
    QLineEdit* seed = m_training->addText(
        tr("Seed"), "seed", tr("Seeds weights, data generation, split and shuffling; equal seeds repeat a run"),
        [](const S& s) { return std::to_string(s.seed); },
        [](S& s, std::string v) {
            if (!v.empty())
                s.seed = std::stoull(v);
        });
    seed->setValidator(new QRegularExpressionValidator(QRegularExpression(QStringLiteral("\\d{1,18}")), seed));
    QSpinBox* threads = m_training->addInt(
        tr("Threads"), "training.threads", 0, 1024, tr("CPU threads for math; 0 = auto (measures which count is fastest)"),
        [](const S& s) { return s.training.threads; }, [](S& s, int64_t v) { s.training.threads = v; });
    threads->setSpecialValueText(tr("auto"));
    m_training->addInt(tr("Workers"), "training.workers", 1, 256,
                       tr("Data-parallel processes on this machine: each trains a share of every batch (the batch "
                          "size stays the global batch) and the gradients are averaged before each step"),
                       [](const S& s) { return s.training.workers; }, [](S& s, int64_t v) { s.training.workers = v; });
    m_training->addChoice(tr("Device"), "training.device", {"auto", "cpu", "cuda"},
                          tr("Where to train; auto uses a GPU when there is one"),
                          [](const S& s) { return s.training.device; }, [](S& s, std::string v) { s.training.device = v; });
    m_training->addInt(tr("Log every"), "training.log_every_steps", 1, 1000000, tr("Report training metrics every N steps"),
                       [](const S& s) { return s.training.logEverySteps; }, [](S& s, int64_t v) { s.training.logEverySteps = v; });
    QDoubleSpinBox* everySeconds = m_training->addDecimal(
        tr("Checkpoint every"), "training.checkpoint_every_seconds", 0, 86400, 5, 0,
        tr("Write the latest checkpoint when the last one is this many seconds old; 0 = at epoch ends only"),
        [](const S& s) { return s.training.checkpointEverySeconds; }, [](S& s, double v) { s.training.checkpointEverySeconds = v; });
    everySeconds->setSuffix(tr(" s"));
    everySeconds->setSpecialValueText(tr("epoch ends"));
    QSpinBox* everySteps = m_training->addInt(
        tr("Checkpoint steps"), "training.checkpoint_every_steps", 0, 1000000000,
        tr("Also write the latest checkpoint every N steps; 0 = off"),
        [](const S& s) { return s.training.checkpointEverySteps; }, [](S& s, int64_t v) { s.training.checkpointEverySteps = v; });
    everySteps->setSpecialValueText(tr("off"));
    m_training->addChoice(tr("Keep best by"), "training.best_metric", {"auto", "none", "val/accuracy", "val/loss"},
                          tr("Keep a second checkpoint at the best value of this metric; auto = val/accuracy for "
                             "classification, val/loss for regression"),
                          [](const S& s) { return s.training.bestMetric; }, [](S& s, std::string v) { s.training.bestMetric = v; });
    m_training->addBool(tr("Deterministic"), "training.deterministic",
                        tr("Same metrics bit for bit on this machine: fixed threads and kernels, no speed tuning"),
                        [](const S& s) { return s.training.deterministic; }, [](S& s, bool v) { s.training.deterministic = v; });
    return group;
}

void HyperparametersPanel::refresh()
{
    for (FormBinder* binder : {m_optimizer, m_schedule, m_training})
        binder->refresh();
    updateVisibility();
    updatePlot();
}

void HyperparametersPanel::updateVisibility()
{
    const std::string& o = m_doc->spec().optimizer.type;
    const bool adam = o == "adam" || o == "adamw";
    m_optimizer->setRowVisible("optimizer.momentum", o == "sgd" || o == "rmsprop");
    m_optimizer->setRowVisible("optimizer.nesterov", o == "sgd");
    m_optimizer->setRowVisible("optimizer.betas[0]", adam);
    m_optimizer->setRowVisible("optimizer.betas[1]", adam);
    m_optimizer->setRowVisible("optimizer.eps", adam || o == "rmsprop");
    m_optimizer->setRowVisible("optimizer.alpha", o == "rmsprop");

    const std::string& t = m_doc->spec().schedule.type;
    const bool onecycle = t == "onecycle";
    m_schedule->setRowVisible("schedule.warmup_steps", !onecycle);
    m_schedule->setRowVisible("schedule.step_size", t == "step");
    m_schedule->setRowVisible("schedule.gamma", t == "step" || t == "exponential");
    m_schedule->setRowVisible("schedule.min_lr", t == "cosine" || t == "warmup_cosine");
    for (const char* key : {"schedule.pct_start", "schedule.div_factor", "schedule.final_div_factor"})
        m_schedule->setRowVisible(key, onecycle);
}

std::string HyperparametersPanel::dataKey() const
{
    const nnlab::DataSpec& d = m_doc->spec().data;
    return d.source + '\n' + d.path + '\n' + std::to_string(d.samples) + '\n' + std::to_string(d.trainLimit) + '\n'
           + std::to_string(d.validationFraction) + '\n' + d.labelColumn + '\n' + d.header + '\n' + d.delimiter;
}

void HyperparametersPanel::setLoadedTrainSamples(qint64 count)
{
    m_loadedSamples = count > 0 ? count : 0;
    m_loadedKey = dataKey();
    updatePlot();
}

void HyperparametersPanel::updatePlot()
{
    const nnlab::ExperimentSpec& spec = m_doc->spec();
    m_plan = planSteps(spec, m_loadedKey == dataKey() ? m_loadedSamples : 0);
    QString basis = m_plan.basis;
    if (!m_plan.exact && (spec.data.trainLimit > 0 || spec.data.validationFraction > 0))
        basis += tr("; train_limit %1, %2% validation")
                     .arg(spec.data.trainLimit > 0 ? QString::number(spec.data.trainLimit) : tr("all"))
                     .arg(spec.data.validationFraction * 100, 0, 'g', 3);
    m_planLabel->setText(tr("%1 epochs × %2 steps = <b>%3 steps</b> · %4 training samples (%5), batch %6")
                             .arg(spec.training.epochs)
                             .arg(m_plan.stepsPerEpoch)
                             .arg(m_plan.totalSteps)
                             .arg(editor::formatCount(m_plan.trainSamples), basis)
                             .arg(spec.training.batchSize));

    // Every step for runs up to kMaxPlotPoints; evenly spaced steps (first and last kept) beyond.
    const int64_t total = m_plan.totalSteps;
    const int64_t points = std::min<int64_t>(total, kMaxPlotPoints);
    QVector<double> steps, rates;
    steps.reserve(static_cast<int>(points));
    rates.reserve(static_cast<int>(points));
    for (int64_t i = 0; i < points; ++i) {
        const int64_t step = points > 1 ? i * (total - 1) / (points - 1) : 0;
        steps << static_cast<double>(step);
        rates << nnlab::learningRateAt(spec.schedule, spec.optimizer.lr, step, total, m_plan.stepsPerEpoch);
    }
    m_plot->graph(0)->setData(steps, rates, true);

    // Epoch boundaries, while there are few enough to tell apart.
    m_plot->clearItems();
    if (spec.training.epochs > 1 && spec.training.epochs <= 50) {
        for (int64_t e = 1; e < spec.training.epochs; ++e) {
            auto* line = new QCPItemStraightLine(m_plot);
            const double x = static_cast<double>(e * m_plan.stepsPerEpoch);
            line->point1->setCoords(x, 0);
            line->point2->setCoords(x, 1);
            line->setPen(QPen(QColor(0, 0, 0, 50), 1, Qt::DashLine));
        }
    }
    m_plot->xAxis->setRange(0, std::max<double>(1, static_cast<double>(total - 1)));
    double top = 0;
    for (double r : rates)
        top = std::max(top, r);
    m_plot->yAxis->setRange(0, top > 0 ? top * 1.08 : 1);
    m_plot->replot(QCustomPlot::rpQueuedReplot);
}
