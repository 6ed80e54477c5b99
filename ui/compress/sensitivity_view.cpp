#include "compress/sensitivity_view.h"

#include "compress/background_task.h"
#include "compress/sensitivity_map.h"

#include "nnlab/store.h"

#include <QCheckBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QScrollArea>
#include <QVBoxLayout>

#include <memory>
#include <stdexcept>

SensitivityView::SensitivityView(QWidget* parent) : QWidget(parent), m_task(new BackgroundTask(this))
{
    qRegisterMetaType<nnlab::SensitivityResult>();
    setObjectName(QStringLiteral("sensitivityView"));
    const nnlab::SensitivityOptions defaults;
    m_title = new QLabel(tr("Choose an uncompressed run on the Pareto tab, then \"Sensitivity…\"."));
    m_title->setWordWrap(true);
    QStringList ladder;
    for (double s : defaults.sparsities)
        ladder << QString::number(s);
    m_sparsities = new QLineEdit(ladder.join(QLatin1Char(',')));
    m_sparsities->setObjectName(QStringLiteral("sparsities"));
    m_sparsities->setToolTip(tr("The sparsities each layer is pruned to alone, separated by commas, each in [0, 1)"));
    m_structured = new QCheckBox(tr("Structured"));
    m_structured->setToolTip(tr("Remove whole filters and output features instead of single weights"));
    m_int8 = new QCheckBox(tr("int8 column"));
    m_int8->setChecked(defaults.int8);
    m_int8->setToolTip(tr("Also each layer alone in static int8, every other layer in float"));
    m_run = new QPushButton(tr("Run analysis"));
    m_run->setObjectName(QStringLiteral("runSensitivity"));
    m_cancel = new QPushButton(tr("Cancel"));
    m_progress = new QProgressBar;
    m_progress->setMaximumWidth(180);
    m_progress->setVisible(false);
    m_status = new QLabel;
    m_status->setWordWrap(true);
    auto* bar = new QHBoxLayout;
    bar->addWidget(new QLabel(tr("Sparsities")));
    bar->addWidget(m_sparsities, 1);
    bar->addWidget(m_structured);
    bar->addWidget(m_int8);
    bar->addWidget(m_run);
    bar->addWidget(m_cancel);
    bar->addWidget(m_progress);
    m_map = new SensitivityMap;
    auto* scroll = new QScrollArea;
    scroll->setWidget(m_map);
    scroll->setWidgetResizable(true);
    scroll->setFrameShape(QFrame::NoFrame);
    m_legend = new QLabel;
    m_legend->setWordWrap(true);
    auto* legend = m_legend;
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(4, 4, 4, 4);
    layout->addWidget(m_title);
    layout->addLayout(bar);
    layout->addWidget(m_status);
    layout->addWidget(scroll, 1);
    layout->addWidget(legend);

    connect(m_run, &QPushButton::clicked, this, &SensitivityView::start);
    connect(m_cancel, &QPushButton::clicked, this, &SensitivityView::cancel);
    connect(m_sparsities, &QLineEdit::textChanged, this, &SensitivityView::updateButtons);
    connect(m_map, &SensitivityMap::layerClicked, this, [this](const QList<int>& path, const QString&) {
        if (!path.isEmpty())
            emit layerSelected(m_map->result().sourceRunId.empty() ? m_runId
                                                                  : QString::fromStdString(m_map->result().sourceRunId),
                               path);
    });
    connect(m_task, &BackgroundTask::progress, this, [this](const QString& stage, qint64 done, qint64 total) {
        m_progress->setVisible(true);
        m_progress->setRange(0, static_cast<int>(std::max<qint64>(total, 0)));
        m_progress->setValue(static_cast<int>(done));
        const QString eta = compresslab::durationText(m_task->etaSeconds());
        m_status->setText(tr("Cell %1 of %2: %3%4").arg(done).arg(total).arg(stage,
                                                                            eta.isEmpty() ? QString() : tr(" · about %1 left").arg(eta)));
    });
    connect(m_task, &BackgroundTask::finished, this, [this](const QVariant& value) {
        const auto result = value.value<nnlab::SensitivityResult>();
        setResult(result);
        m_status->setText(tr("%1 cells in %2%3")
                              .arg(result.layers.size() * result.settings.size())
                              .arg(compresslab::durationText(result.seconds))
                              .arg(result.cancelled ? tr(" (cancelled: the cells not reached are grey)") : QString()));
        if (!result.runId.empty())
            emit analysisRecorded(QString::fromStdString(result.runId));
    });
    connect(m_task, &BackgroundTask::cancelled, this, [this] {
        if (m_partial && !m_partial->layers.empty()) {
            setResult(*m_partial);
            m_status->setText(tr("Cancelled: the cells not reached are grey."));
        } else {
            m_status->setText(tr("Cancelled."));
        }
    });
    connect(m_task, &BackgroundTask::failed, this,
            [this](const QString& message) { m_status->setText(tr("The analysis failed: %1").arg(message)); });
    connect(m_task, &BackgroundTask::ended, this, [this] {
        m_progress->setVisible(false);
        updateButtons();
    });
    updateButtons();
}

SensitivityView::~SensitivityView() = default;

void SensitivityView::setRun(const QString& runId, const QString& runName)
{
    m_runId = runId;
    m_title->setText(tr("Sensitivity of <b>%1</b> (%2)").arg((runName.isEmpty() ? runId : runName).toHtmlEscaped(), runId));
    m_map->setResult({});
    m_status->clear();
    try {
        auto store = nnlab::RunStore::open(m_storePath.toStdString(), nnlab::StoreOptions{true, 5000});
        if (store.ok() && !nnlab::sensitivityRunsOf(*store.value, runId.toStdString()).empty()) {
            setResult(nnlab::loadSensitivity(*store.value, runId.toStdString()));
            m_status->setText(tr("The latest recorded analysis of this run."));
        } else {
            m_status->setText(tr("No analysis of this run yet."));
        }
    } catch (const std::exception& e) {
        m_status->setText(tr("Could not read the recorded analysis: %1").arg(QString::fromUtf8(e.what())));
    }
    updateButtons();
}

std::optional<nnlab::SensitivityOptions> SensitivityView::options(QString* problem) const
{
    nnlab::SensitivityOptions options;
    options.sparsities.clear();
    for (const QString& part : m_sparsities->text().split(QLatin1Char(','), Qt::SkipEmptyParts)) {
        bool ok = false;
        const double value = part.trimmed().toDouble(&ok);
        if (!ok) {
            if (problem)
                *problem = tr("Sparsities: \"%1\" is not a number").arg(part.trimmed());
            return std::nullopt;
        }
        options.sparsities.push_back(value);
    }
    options.structured = m_structured->isChecked();
    options.int8 = m_int8->isChecked();
    options.databasePath = m_storePath.toStdString();
    const std::string invalid = nnlab::checkSensitivityOptions(options);
    if (!invalid.empty()) {
        if (problem)
            *problem = QString::fromStdString(invalid);
        return std::nullopt;
    }
    if (options.sparsities.empty() && !options.int8) {
        if (problem)
            *problem = tr("Sparsities: give at least one, or tick the int8 column");
        return std::nullopt;
    }
    return options;
}

void SensitivityView::start()
{
    QString problem;
    const auto chosen = options(&problem);
    if (!chosen) {
        m_status->setText(problem);
        return;
    }
    if (m_runId.isEmpty() || m_task->isRunning())
        return;
    const std::string run = m_runId.toStdString();
    const nnlab::SensitivityOptions opts = *chosen;
    m_status->setText(tr("Starting…"));
    m_partial = std::make_shared<nnlab::SensitivityResult>();
    auto partial = m_partial;
    m_task->start([run, opts, partial](nnlab::TrainControl& control, const TaskProgressFn& progress) {
        nnlab::SensitivityResult result =
            nnlab::runSensitivity(run, opts, control, [&progress](const nnlab::SensitivityProgress& p) {
                progress(p.layer + " at " + p.setting, p.done, p.total);
            });
        *partial = result;   // a cancelled analysis still has the cells it did: the GUI shows them
        return QVariant::fromValue(result);
    }, QStringLiteral("nnlab-sensitivity"));
    updateButtons();
}

void SensitivityView::cancel()
{
    m_task->cancel();
}

bool SensitivityView::isRunning() const
{
    return m_task->isRunning();
}

void SensitivityView::setResult(nnlab::SensitivityResult result)
{
    m_legend->setText(tr("Each cell: the change in %1 accuracy, in points, when that layer alone is pruned to that "
                         "sparsity%2 (or runs in int8), against %3% unchanged. Red: a loss; blue: a gain. The last "
                         "layer is not pruned. Click a layer to select it in the model editor.")
                          .arg(QString::fromStdString(result.split.empty() ? "validation" : result.split))
                          .arg(result.structured ? tr(" by whole filters") : QString())
                          .arg(100.0 * result.baseAccuracy, 0, 'f', 2));
    m_map->setResult(std::move(result));
}

void SensitivityView::updateButtons()
{
    const bool running = m_task->isRunning();
    QString problem;
    const bool valid = options(&problem).has_value();
    m_run->setEnabled(!running && valid && !m_runId.isEmpty());
    m_run->setToolTip(valid ? tr("Prune each layer alone to each sparsity and measure the accuracy") : problem);
    m_cancel->setEnabled(running);
    m_sparsities->setStyleSheet(valid ? QString() : QStringLiteral("color: #b00020;"));
}
