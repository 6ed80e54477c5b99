#include "preflight_dialog.h"

#include "core/experiment_document.h"
#include "core/training_controller.h"
#include "image_grid.h"

#include "nnlab/data.h"
#include "nnlab/experiment.h"

#include <QApplication>
#include <QDialogButtonBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QMessageBox>
#include <QProgressBar>
#include <QPushButton>
#include <QSplitter>
#include <QStyle>
#include <QTabWidget>
#include <QTableWidget>
#include <QThread>
#include <QTreeWidget>
#include <QVBoxLayout>

#include <algorithm>
#include <cmath>

namespace {

using nnlab::CheckStatus;

// Loads the data and runs the checks; every failure ends up in the report.
nnlab::PreflightReport runOn(const nnlab::ExperimentSpec& spec, nnlab::TrainControl& control,
                             const nnlab::PreflightProgress& progress)
{
    nnlab::PreflightReport report;
    try {
        const nnlab::Preparation prepared = nnlab::prepareExperiment(spec);
        if (!prepared.ok()) {
            report.error = prepared.errorText();
            return report;
        }
        if (progress)
            progress(0.0, "loading " + spec.data.source);
        const nnlab::DataBundle data = nnlab::loadData(spec.data, spec.isClassification(), spec.seed);
        const nnlab::Preparation fitted = nnlab::fitToData(prepared.experiment, data);
        if (!fitted.ok()) {
            report.error = fitted.errorText();
            return report;
        }
        return nnlab::runPreflight(fitted.experiment, data, progress, control);
    } catch (const std::exception& e) {   // DataError, an allocation failure
        report.error = e.what();
    }
    return report;
}

QIcon statusIcon(CheckStatus status)
{
    QStyle* style = QApplication::style();
    switch (status) {
    case CheckStatus::Pass: return style->standardIcon(QStyle::SP_DialogApplyButton);
    case CheckStatus::Warn: return style->standardIcon(QStyle::SP_MessageBoxWarning);
    case CheckStatus::Fail: return style->standardIcon(QStyle::SP_MessageBoxCritical);
    case CheckStatus::Skipped: return style->standardIcon(QStyle::SP_MessageBoxInformation);
    }
    return {};
}

QString number(double v) { return QString::number(v, 'g', 4); }

QTableWidget* makeTable(const QStringList& headers)
{
    auto* table = new QTableWidget(0, headers.size());
    table->setHorizontalHeaderLabels(headers);
    table->verticalHeader()->setVisible(false);
    table->setEditTriggers(QAbstractItemView::NoEditTriggers);
    table->setSelectionBehavior(QAbstractItemView::SelectRows);
    table->horizontalHeader()->setStretchLastSection(true);
    return table;
}

void setRow(QTableWidget* table, int row, const QStringList& cells)
{
    for (int c = 0; c < cells.size(); ++c) {
        auto* item = new QTableWidgetItem(cells[c]);
        bool numeric = false;
        QString(cells[c]).remove('%').toDouble(&numeric);
        if (c > 0 && numeric)   // numbers right-aligned, names and problems left
            item->setTextAlignment(Qt::AlignRight | Qt::AlignVCenter);
        table->setItem(row, c, item);
    }
}

// One de-normalised sample (0..255 per pixel) as an image.
QImage toImage(const nnlab::InputView& input, int64_t index)
{
    const int channels = static_cast<int>(input.sampleShape[0]), height = static_cast<int>(input.sampleShape[1]),
              width = static_cast<int>(input.sampleShape[2]);
    const size_t values = static_cast<size_t>(channels) * static_cast<size_t>(height) * static_cast<size_t>(width);
    return planarImage(input.samples.data() + static_cast<size_t>(index) * values, channels, height, width);
}

QString labelText(const nnlab::InputView& input, size_t i)
{
    if (i >= input.labels.size())
        return {};
    const auto id = static_cast<size_t>(input.labels[i]);
    return id < input.classNames.size() ? QString::fromStdString(input.classNames[id]) : QString::number(input.labels[i]);
}

} // namespace

PreflightDialog::PreflightDialog(ExperimentDocument* document, QWidget* parent)
    : QDialog(parent), m_document(document), m_summary(new QLabel), m_progress(new QProgressBar), m_stage(new QLabel),
      m_cancel(new QPushButton(tr("Cancel"))), m_again(new QPushButton(tr("Run again"))), m_checks(new QTreeWidget),
      m_tabs(new QTabWidget), m_layers(makeTable({tr("Layer"), tr("Type"), tr("Grad norm"), tr("Weight norm"),
                                                  tr("Grad / weight"), tr("Dead units"), tr("Problem")})),
      m_images(new ImageGrid), m_features(makeTable({})), m_samples(makeTable({}))
{
    setObjectName(QStringLiteral("preflightDialog"));
    setWindowTitle(tr("Pre-flight Check"));
    m_summary->setWordWrap(true);
    m_progress->setRange(0, 1000);
    m_checks->setColumnCount(2);
    m_checks->setHeaderLabels({tr("Check"), tr("What it found and what to do")});
    m_checks->setRootIsDecorated(true);
    m_checks->setWordWrap(true);
    m_checks->header()->resizeSection(0, 240);
    m_checks->setIconSize(QSize(18, 18));
    m_checks->setMinimumHeight(200);   // every check's row without scrolling

    auto* input = new QWidget;
    auto* inputLayout = new QVBoxLayout(input);
    inputLayout->addWidget(m_features);
    inputLayout->addWidget(m_images, 1, Qt::AlignTop);   // images: at their size, at the top
    inputLayout->addWidget(m_samples, 1);                // tabular: the batch's rows fill the tab
    m_images->setColumns(8);
    m_tabs->addTab(input, tr("What enters the network"));
    m_tabs->addTab(m_layers, tr("Gradient flow"));

    auto* splitter = new QSplitter(Qt::Vertical);
    splitter->addWidget(m_checks);
    splitter->addWidget(m_tabs);
    splitter->setStretchFactor(0, 2);
    splitter->setStretchFactor(1, 3);

    auto* progressRow = new QHBoxLayout;
    progressRow->addWidget(m_progress, 1);
    progressRow->addWidget(m_stage, 1);
    progressRow->addWidget(m_cancel);
    auto* buttons = new QDialogButtonBox(QDialogButtonBox::Close);
    buttons->addButton(m_again, QDialogButtonBox::ActionRole);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    connect(m_again, &QPushButton::clicked, this, &PreflightDialog::start);
    connect(m_cancel, &QPushButton::clicked, this, &PreflightDialog::cancel);

    auto* layout = new QVBoxLayout(this);
    layout->addWidget(m_summary);
    layout->addLayout(progressRow);
    layout->addWidget(splitter, 1);
    layout->addWidget(buttons);
    resize(980, 820);
    setRunning(false);
}

PreflightDialog::~PreflightDialog()
{
    if (m_thread) {
        m_control->cancel();
        m_thread->wait();
    }
}

PreflightDialog* PreflightDialog::openFor(ExperimentDocument* document, const TrainingController* controller, QWidget* parent)
{
    if (controller && controller->isRunning()) {
        QMessageBox::information(parent, tr("Pre-flight Check"),
                                 tr("A run is training. The checks would compete with it for the same cores: stop the "
                                    "run or wait for it to finish, then try again."));
        return nullptr;
    }
    auto* dialog = new PreflightDialog(document, parent);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    dialog->show();
    dialog->start();
    return dialog;
}

void PreflightDialog::start()
{
    if (m_thread)
        return;
    const nnlab::ExperimentSpec spec = m_document->spec();
    m_name = QString::fromStdString(spec.name);
    m_summary->setText(tr("Checking <b>%1</b>: fresh models from seed %2 are trained for a few hundred steps; "
                          "no run is recorded.").arg(QString::fromStdString(spec.name).toHtmlEscaped()).arg(spec.seed));
    m_control = std::make_shared<nnlab::TrainControl>();
    auto control = m_control;
    setRunning(true);
    showProgress(0.0, tr("starting"));
    m_thread = QThread::create([this, spec, control] {
        auto lastShown = std::make_shared<int>(-1);
        const nnlab::PreflightReport report = runOn(spec, *control, [this, lastShown](double f, const std::string& s) {
            const int permille = static_cast<int>(f * 1000);
            if (permille < *lastShown + 5 && permille != 1000 && *lastShown >= 0)
                return;   // a few dozen updates a run, not one per step
            *lastShown = permille;
            QMetaObject::invokeMethod(this, [this, f, s] { showProgress(f, QString::fromStdString(s)); }, Qt::QueuedConnection);
        });
        QMetaObject::invokeMethod(this, [this, report] { showReport(report); }, Qt::QueuedConnection);
    });
    connect(m_thread, &QThread::finished, m_thread, &QObject::deleteLater);
    m_thread->start();
}

void PreflightDialog::cancel()
{
    if (m_control)
        m_control->cancel();
}

void PreflightDialog::setRunning(bool running)
{
    m_progress->setVisible(running);
    m_stage->setVisible(running);
    m_cancel->setVisible(running);
    m_again->setEnabled(!running);
}

void PreflightDialog::showProgress(double fraction, const QString& stage)
{
    m_progress->setValue(static_cast<int>(fraction * 1000));
    m_stage->setText(stage);
}

void PreflightDialog::showReport(const nnlab::PreflightReport& report)
{
    if (m_thread) {
        m_thread->wait();   // it has delivered its report and is ending
        m_thread = nullptr;
    }
    m_report = report;
    setRunning(false);

    m_checks->clear();
    for (const nnlab::CheckResult& c : report.checks) {
        auto* item = new QTreeWidgetItem(m_checks, {QString::fromStdString(c.title), QString::fromStdString(c.explanation)});
        item->setIcon(0, statusIcon(c.status));
        item->setToolTip(1, QString::fromStdString(c.explanation));
        item->setData(0, Qt::UserRole, static_cast<int>(c.status));
        for (const nnlab::CheckNumber& n : c.numbers)
            new QTreeWidgetItem(item, {QString::fromStdString(n.name), number(n.value)});
    }
    m_checks->resizeColumnToContents(0);

    QString summary;
    if (!report.error.empty())
        summary = tr("<b>The checks could not run:</b> %1").arg(QString::fromStdString(report.error).toHtmlEscaped());
    else if (report.cancelled)
        summary = tr("<b>Cancelled.</b>");
    else
        summary = tr("%1: <b>%2 passed, %3 warnings, %4 failed</b> in %5 s. %6")
                      .arg(m_name.toHtmlEscaped())
                      .arg(report.count(CheckStatus::Pass))
                      .arg(report.count(CheckStatus::Warn))
                      .arg(report.count(CheckStatus::Fail))
                      .arg(report.seconds, 0, 'f', 1)
                      .arg(report.failed() ? tr("Fix the failed checks before a long run.")
                                           : tr("Ready for a long run."));
    m_summary->setText(summary);
    showInput(report.input);
    showLayers(report.layers);
    Q_EMIT finished();
}

void PreflightDialog::showInput(const nnlab::InputView& input)
{
    const bool images = input.images && input.sampleShape.size() == 3 && input.sampleCount() > 0;
    m_images->setVisible(images);
    m_samples->setVisible(!images);
    QVector<ImageGrid::Sample> samples;
    if (images)
        for (int64_t i = 0; i < input.sampleCount(); ++i)
            samples.push_back({toImage(input, i), labelText(input, static_cast<size_t>(i))});
    m_images->setSamples(samples);

    // Normalised data: the range the network sees, then the source's (raw) range.
    const QString unit = input.images ? tr("Channel") : tr("Feature");
    QStringList headers{unit, tr("min"), tr("max"), tr("mean"), tr("std")};
    if (input.normalized)
        headers << tr("raw min") << tr("raw max") << tr("raw mean") << tr("raw std");
    m_features->clear();
    m_features->setColumnCount(headers.size());
    m_features->setHorizontalHeaderLabels(headers);
    m_features->horizontalHeader()->setStretchLastSection(false);
    m_features->setRowCount(static_cast<int>(input.features.size()));
    for (int r = 0; r < m_features->rowCount(); ++r) {
        const nnlab::FeatureRange& f = input.features[static_cast<size_t>(r)];
        QStringList cells{QString::fromStdString(f.name), number(f.min), number(f.max), number(f.mean), number(f.std)};
        if (input.normalized)
            cells << number(f.rawMin) << number(f.rawMax) << number(f.rawMean) << number(f.rawStd);
        setRow(m_features, r, cells);
    }
    m_features->resizeColumnsToContents();
    // Beside images the table takes only its rows' height; tabular data has room to spare.
    const int rowsHeight = m_features->horizontalHeader()->sizeHint().height() + 2 * m_features->frameWidth()
                           + m_features->verticalHeader()->length() + 2;
    m_features->setMaximumHeight(images ? rowsHeight : std::max(rowsHeight, 200));

    // Tabular: the batch's rows as they were before normalisation, with their labels.
    const int64_t width = input.sampleShape.empty() || images ? 0 : input.sampleShape[0];
    m_samples->clear();
    m_samples->setColumnCount(static_cast<int>(width) + 1);
    headers.clear();
    for (int64_t f = 0; f < width; ++f)
        headers << (static_cast<size_t>(f) < input.features.size() ? QString::fromStdString(input.features[static_cast<size_t>(f)].name)
                                                                   : QString::number(f));
    m_samples->setHorizontalHeaderLabels(headers << tr("label"));
    m_samples->setRowCount(width > 0 ? static_cast<int>(input.sampleCount()) : 0);
    for (int r = 0; r < m_samples->rowCount(); ++r) {
        QStringList cells;
        for (int64_t f = 0; f < width; ++f)
            cells << number(input.samples[static_cast<size_t>(r * width + f)]);
        setRow(m_samples, r, cells << labelText(input, static_cast<size_t>(r)));
    }
}

void PreflightDialog::showLayers(const std::vector<nnlab::LayerFlow>& layers)
{
    m_layers->setRowCount(static_cast<int>(layers.size()));
    for (int r = 0; r < m_layers->rowCount(); ++r) {
        const nnlab::LayerFlow& f = layers[static_cast<size_t>(r)];
        const bool relu = f.deadFraction >= 0;
        setRow(m_layers, r, {QString::fromStdString(f.name), QString::fromStdString(f.type), relu ? QString() : number(f.gradNorm),
                             relu ? QString() : number(f.weightNorm),
                             relu || f.weightNorm <= 0 ? QString() : number(f.gradNorm / f.weightNorm),
                             relu ? QStringLiteral("%1%").arg(100 * f.deadFraction, 0, 'f', 1) : QString(),
                             QString::fromStdString(f.problem)});
        m_layers->item(r, 0)->setIcon(statusIcon(f.status));
    }
    m_layers->resizeColumnsToContents();
}
