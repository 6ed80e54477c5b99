#include "confusion_panel.h"

#include "editor/image_grid.h"

#include "nnlab/store.h"
#include "nnlab/trained_model.h"

#include <qcustomplot.h>

#include <QFutureWatcher>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QLabel>
#include <QPushButton>
#include <QScrollArea>
#include <QSplitter>
#include <QTableWidget>
#include <QVBoxLayout>
#include <QtConcurrent/QtConcurrentRun>

#include <algorithm>
#include <cmath>

namespace inspect {

namespace {
constexpr int kExamplesShown = 24;

QString percent(double v) { return std::isfinite(v) ? QString::number(100.0 * v, 'f', 1) + QLatin1Char('%') : QStringLiteral("–"); }
} // namespace

ConfusionPanel::ConfusionPanel(QWidget* parent) : QWidget(parent) { buildUi(); }

void ConfusionPanel::buildUi()
{
    m_matrix = new ConfusionMatrixView(this);
    m_matrix->setObjectName(QStringLiteral("confusionMatrix"));
    connect(m_matrix, &ConfusionMatrixView::cellClicked, this, &ConfusionPanel::showExamples);

    m_table = new QTableWidget(0, 4, this);
    m_table->setObjectName(QStringLiteral("classScores"));
    m_table->setHorizontalHeaderLabels({tr("class"), tr("precision"), tr("recall"), tr("samples")});
    m_table->verticalHeader()->setVisible(false);
    m_table->setEditTriggers(QAbstractItemView::NoEditTriggers);
    m_table->setSelectionMode(QAbstractItemView::NoSelection);
    m_table->horizontalHeader()->setSectionResizeMode(0, QHeaderView::Stretch);
    for (int c = 1; c < 4; ++c)
        m_table->horizontalHeader()->setSectionResizeMode(c, QHeaderView::ResizeToContents);

    m_chart = new QCustomPlot(this);
    m_chart->setObjectName(QStringLiteral("classScoresChart"));
    m_chart->setMinimumHeight(140);
    m_chart->yAxis->setRange(0, 1.05);
    m_chart->yAxis->setLabel(tr("precision · recall"));
    m_chart->legend->setVisible(true);
    m_chart->axisRect()->insetLayout()->setInsetAlignment(0, Qt::AlignBottom | Qt::AlignRight);
    QFont small = font();
    small.setPointSizeF(small.pointSizeF() * 0.8);
    m_chart->legend->setFont(small);
    m_chart->xAxis->setTickLabelFont(small);
    m_chart->yAxis->setTickLabelFont(small);
    auto* group = new QCPBarsGroup(m_chart);
    const QColor colours[2] = {QColor(0x1f, 0x77, 0xb4), QColor(0xff, 0x7f, 0x0e)};
    const QString names[2] = {tr("precision"), tr("recall")};
    for (int i = 0; i < 2; ++i) {
        auto* bars = new QCPBars(m_chart->xAxis, m_chart->yAxis);
        bars->setName(names[i]);
        bars->setPen(Qt::NoPen);
        bars->setBrush(colours[i]);
        bars->setWidth(0.38);
        bars->setBarsGroup(group);
    }

    m_source = new QLabel(this);
    m_source->setWordWrap(true);
    m_source->setStyleSheet(QStringLiteral("color: palette(mid);"));
    m_examplesButton = new QPushButton(tr("Examples"), this);
    m_examplesButton->setObjectName(QStringLiteral("examplesButton"));
    m_examplesButton->setToolTip(tr("Run the trained model (best checkpoint) over the validation set to find the "
                                    "examples behind each cell"));
    connect(m_examplesButton, &QPushButton::clicked, this, &ConfusionPanel::computeReport);

    m_caption = new QLabel(this);
    m_caption->setWordWrap(true);
    m_caption->setText(tr("Click a cell to see its examples."));
    m_examples = new ImageGrid(this);
    m_examples->setObjectName(QStringLiteral("confusionExamples"));
    m_examples->setColumns(8);
    m_tabular = new QLabel(this);
    m_tabular->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_tabular->setAlignment(Qt::AlignLeft | Qt::AlignTop);
    m_tabular->setVisible(false);
    auto* examplesBox = new QWidget(this);
    auto* examplesLayout = new QVBoxLayout(examplesBox);
    examplesLayout->setContentsMargins(0, 0, 0, 0);
    examplesLayout->addWidget(m_examples);
    examplesLayout->addWidget(m_tabular);
    examplesLayout->addStretch(1);
    auto* scroll = new QScrollArea(this);
    scroll->setWidget(examplesBox);
    scroll->setWidgetResizable(true);
    scroll->setFrameShape(QFrame::NoFrame);

    auto* scores = new QSplitter(Qt::Vertical, this);
    scores->addWidget(m_table);
    scores->addWidget(m_chart);
    auto* top = new QSplitter(Qt::Horizontal, this);
    top->addWidget(m_matrix);
    top->addWidget(scores);
    top->setStretchFactor(0, 3);
    top->setStretchFactor(1, 2);

    auto* examplesPane = new QWidget(this);
    auto* paneLayout = new QVBoxLayout(examplesPane);
    paneLayout->setContentsMargins(0, 0, 0, 0);
    auto* captionRow = new QHBoxLayout;
    captionRow->addWidget(m_caption, 1);
    captionRow->addWidget(m_examplesButton);
    paneLayout->addLayout(captionRow);
    paneLayout->addWidget(scroll, 1);

    auto* main = new QSplitter(Qt::Vertical, this);
    main->addWidget(top);
    main->addWidget(examplesPane);
    main->setStretchFactor(0, 3);
    main->setStretchFactor(1, 2);

    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(4, 4, 4, 4);
    layout->addWidget(m_source);
    layout->addWidget(main, 1);
    m_source->setText(tr("Train a classifier, or select a run, to see its validation confusion matrix."));
    m_examplesButton->setEnabled(false);
}

void ConfusionPanel::reset(const QString& runId)
{
    ++m_request;
    m_runId = runId;
    m_step = -1;
    m_report.reset();
    m_matrix->clear();
    m_examples->setSamples({});
    m_tabular->clear();
    m_tabular->setVisible(false);
    m_caption->setText(tr("Click a cell to see its examples."));
    m_examplesButton->setEnabled(!runId.isEmpty() && !m_storePath.isEmpty());
    updateScores();
}

void ConfusionPanel::beginLiveRun(const QString& runId)
{
    reset(runId);
    m_source->setText(tr("Run %1: the matrix appears at the first evaluation (inspect.confusion_matrix).").arg(runId));
}

void ConfusionPanel::addSnapshots(const QString& runId, const std::vector<nnlab::Snapshot>& snapshots)
{
    if (runId != m_runId)
        return;
    for (const nnlab::Snapshot& s : snapshots)
        if (s.kind == nnlab::SnapshotKind::ConfusionMatrix && s.step >= m_step)
            applySnapshot(s);
}

void ConfusionPanel::endLiveRun(const QString& runId, bool trained)
{
    if (runId == m_runId && trained && !m_storePath.isEmpty() && m_step >= 0)
        computeReport();
}

void ConfusionPanel::applySnapshot(const nnlab::Snapshot& s)
{
    if (s.shape.size() != 2 || s.shape[0] != s.shape[1] || s.values.size() != static_cast<size_t>(s.shape[0] * s.shape[1]))
        return;
    const int classes = static_cast<int>(s.shape[0]);
    const QJsonObject meta = QJsonDocument::fromJson(QByteArray::fromStdString(s.meta)).object();
    QStringList names;
    for (const QJsonValue& v : meta.value(QLatin1String("class_names")).toArray())
        names << v.toString();
    std::vector<int64_t> counts(s.values.size());
    std::transform(s.values.begin(), s.values.end(), counts.begin(), [](float v) { return static_cast<int64_t>(std::lround(v)); });
    m_step = s.step;
    if (!m_report) {   // the report, once there, is what the examples belong to
        showMatrix(std::move(counts), classes, names);
        m_source->setText(tr("Validation set at step %1 (epoch %2, %3 samples)")
                              .arg(s.step)
                              .arg(meta.value(QLatin1String("epoch")).toInt())
                              .arg(meta.value(QLatin1String("samples")).toInt()));
    }
}

void ConfusionPanel::showMatrix(std::vector<int64_t> counts, int classes, const QStringList& names)
{
    const auto [actual, predicted] = m_matrix->selectedCell();
    m_matrix->setMatrix(std::move(counts), classes, names);
    updateScores();
    if (actual >= 0 && actual < classes && m_report)
        showExamples(actual, predicted);
}

void ConfusionPanel::updateScores()
{
    const int classes = m_matrix->classes();
    const std::vector<ClassScores> scores = classScores(m_matrix->counts(), classes);
    m_table->setRowCount(classes);
    QVector<double> keys, precision, recall;
    QSharedPointer<QCPAxisTickerText> ticker(new QCPAxisTickerText);
    for (int c = 0; c < classes; ++c) {
        const ClassScores& s = scores[static_cast<size_t>(c)];
        const QString values[4] = {QStringLiteral("%1 %2").arg(c).arg(m_matrix->className(c)), percent(s.precision),
                                   percent(s.recall), QString::number(s.support)};
        for (int column = 0; column < 4; ++column) {
            auto* item = new QTableWidgetItem(values[column]);
            if (column > 0)
                item->setTextAlignment(Qt::AlignRight | Qt::AlignVCenter);
            m_table->setItem(c, column, item);
        }
        keys << c;
        precision << (std::isfinite(s.precision) ? s.precision : 0.0);
        recall << (std::isfinite(s.recall) ? s.recall : 0.0);
        ticker->addTick(c, QString::number(c));
    }
    qobject_cast<QCPBars*>(m_chart->plottable(0))->setData(keys, precision, true);
    qobject_cast<QCPBars*>(m_chart->plottable(1))->setData(keys, recall, true);
    m_chart->xAxis->setTicker(ticker);
    m_chart->xAxis->setRange(-0.6, std::max(1, classes) - 0.4);
    m_chart->replot(QCustomPlot::rpQueuedReplot);
}

QString ConfusionPanel::examplesCaption() const { return m_caption->text(); }

void ConfusionPanel::showExamples(int actual, int predicted)
{
    const int64_t n = m_matrix->count(actual, predicted);
    const QString cell = actual == predicted
        ? tr("%1 predicted correctly").arg(m_matrix->className(actual))
        : tr("%1 predicted as %2").arg(m_matrix->className(actual), m_matrix->className(predicted));
    m_examples->setSamples({});
    m_tabular->setVisible(false);
    if (!m_report) {
        m_caption->setText(tr("%1: %2 samples. Examples need the trained model: press Examples (or wait for the "
                              "run to finish).")
                               .arg(cell)
                               .arg(n));
        emit examplesShown(actual, predicted, 0);
        return;
    }
    const nnlab::ConfusionReport& r = *m_report;
    const size_t index = static_cast<size_t>(actual) * static_cast<size_t>(r.classes) + static_cast<size_t>(predicted);
    const std::vector<nnlab::ConfusionExample> none;
    const auto& examples = index < r.examples.size() ? r.examples[index] : none;
    const int shown = std::min<int>(kExamplesShown, static_cast<int>(examples.size()));
    m_caption->setText(shown == 0 && n > 0 && actual == predicted
                           ? tr("%1: %2 samples (examples are kept for the mistakes)").arg(cell).arg(n)
                           : tr("%1: %2 samples, the %3 most confident shown (predicted probability under each)")
                                 .arg(cell)
                                 .arg(n)
                                 .arg(shown));
    const bool images = r.sampleShape.size() == 3 && (r.sampleShape[0] == 1 || r.sampleShape[0] == 3);
    if (images) {
        QVector<ImageGrid::Sample> samples;
        const int c = static_cast<int>(r.sampleShape[0]), h = static_cast<int>(r.sampleShape[1]),
                  w = static_cast<int>(r.sampleShape[2]);
        for (int i = 0; i < shown; ++i) {
            const nnlab::ConfusionExample& e = examples[static_cast<size_t>(i)];
            if (e.raw.size() != static_cast<size_t>(c * h * w))
                continue;
            samples.push_back({planarImage(e.raw.data(), c, h, w), tr("#%1 · %2%").arg(e.index).arg(std::lround(100.0 * e.probability))});
        }
        m_examples->setSamples(samples);
    } else {
        QStringList lines;
        for (int i = 0; i < shown; ++i) {
            const nnlab::ConfusionExample& e = examples[static_cast<size_t>(i)];
            QStringList values;
            for (float v : e.raw)
                values << QString::number(v, 'g', 4);
            lines << tr("#%1  (%2)  p = %3").arg(e.index).arg(values.join(QStringLiteral(", "))).arg(e.probability, 0, 'f', 2);
        }
        m_tabular->setText(lines.join(QLatin1Char('\n')));
        m_tabular->setVisible(!lines.isEmpty());
    }
    emit examplesShown(actual, predicted, shown);
}

void ConfusionPanel::setReport(const QString& runId, const nnlab::ConfusionReport& report)
{
    if (runId != m_runId)
        reset(runId);
    m_report = report;
    const int classes = static_cast<int>(report.classes);
    std::vector<int64_t> counts(report.matrix.size());
    std::transform(report.matrix.begin(), report.matrix.end(), counts.begin(),
                   [](float v) { return static_cast<int64_t>(std::lround(v)); });
    QStringList names;
    for (const std::string& name : report.classNames)
        names << QString::fromStdString(name);
    int64_t samples = 0;
    for (int64_t v : counts)
        samples += v;
    m_source->setText(tr("Run %1: validation set (%2 samples) through the trained model (best checkpoint); "
                         "accuracy %3. Click a cell for its examples.")
                          .arg(runId)
                          .arg(samples)
                          .arg(percent(report.scores.accuracy)));
    showMatrix(std::move(counts), classes, names);
}

ConfusionPanel::Loaded ConfusionPanel::loadLatest(const QString& storePath, const QString& runId)
{
    Loaded out;
    out.runId = runId;
    nnlab::StoreOptions options;
    options.readOnly = true;
    auto opened = nnlab::RunStore::open(storePath.toStdString(), options);
    if (!opened.ok()) {
        out.error = QString::fromStdString(opened.error.message);
        return out;
    }
    const auto steps = opened.value->snapshotSteps(runId.toStdString(), nnlab::SnapshotKind::ConfusionMatrix);
    if (!steps.ok() || steps.value.empty()) {
        if (!steps.ok())
            out.error = QString::fromStdString(steps.error.message);
        return out;
    }
    const int64_t last = steps.value.back();
    const auto read = opened.value->snapshots(runId.toStdString(), nnlab::SnapshotKind::ConfusionMatrix, {}, last, last);
    if (read.ok() && !read.value.empty())
        out.snapshot = read.value.back();
    return out;
}

ConfusionPanel::Loaded ConfusionPanel::loadReport(const QString& storePath, const QString& runId)
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
        const nnlab::TrainedWeights weights = nnlab::loadTrainedWeights(*opened.value, runId.toStdString());
        nnlab::ConfusionOptions confusion;
        confusion.examplesPerCell = kExamplesShown;
        confusion.correctExamples = true;
        out.report = nnlab::confusionReport(weights, confusion);
    } catch (const std::exception& e) {
        out.error = QString::fromUtf8(e.what());
    }
    return out;
}

void ConfusionPanel::startLoad(Loaded (*load)(const QString&, const QString&))
{
    auto* watcher = new QFutureWatcher<Loaded>(this);
    const int request = m_request;
    ++m_pending;
    connect(watcher, &QFutureWatcher<Loaded>::finished, this, [this, watcher, request] {
        --m_pending;
        if (request == m_request)
            applyLoaded(watcher->result());
        watcher->deleteLater();
        if (m_pending == 0)
            emit loadingFinished();
    });
    watcher->setFuture(QtConcurrent::run(load, m_storePath, m_runId));
}

void ConfusionPanel::showStoredRun(const QString& storePath, const QString& runId)
{
    m_storePath = storePath;
    reset(runId);
    m_source->setText(tr("Reading run %1…").arg(runId));
    startLoad(&ConfusionPanel::loadLatest);
    computeReport();
}

void ConfusionPanel::computeReport()
{
    if (m_runId.isEmpty() || m_storePath.isEmpty())
        return;
    m_examplesButton->setEnabled(false);
    m_caption->setText(tr("Running the trained model over the validation set…"));
    startLoad(&ConfusionPanel::loadReport);
}

void ConfusionPanel::applyLoaded(const Loaded& loaded)
{
    if (loaded.report) {
        m_examplesButton->setEnabled(true);
        setReport(loaded.runId, *loaded.report);
        m_caption->setText(tr("Click a cell to see its examples."));
        return;
    }
    if (loaded.snapshot && !m_report) {
        applySnapshot(*loaded.snapshot);
        return;
    }
    if (!loaded.error.isEmpty()) {
        m_examplesButton->setEnabled(true);
        // The matrix (if any) stays; say why there are no examples.
        if (m_matrix->classes() > 0)
            m_caption->setText(tr("No examples: %1").arg(loaded.error));
        else
            m_source->setText(loaded.error);
    } else if (m_matrix->classes() == 0 && !m_report && m_pending <= 1) {
        m_source->setText(tr("Run %1 recorded no confusion matrix.").arg(loaded.runId));
    }
}

} // namespace inspect
