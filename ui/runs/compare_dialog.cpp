#include "runs/compare_dialog.h"

#include "runs/experiment_diff.h"
#include "runs/runs_model.h"

#include <QCheckBox>
#include <QDialogButtonBox>
#include <QHeaderView>
#include <QLabel>
#include <QSplitter>
#include <QTableWidget>
#include <QVBoxLayout>

#include <cmath>
#include <set>

namespace {

QString text(const std::string& s) { return QString::fromStdString(s); }

QString number(double v)
{
    return std::isfinite(v) ? QString::number(v, 'g', 6) : QStringLiteral("—");
}

QString runTitle(const nnlab::RunDetails& run)
{
    return QStringLiteral("%1 (%2)").arg(text(run.name), text(run.id));
}

QTableWidgetItem* item(const QString& s)
{
    auto* it = new QTableWidgetItem(s);
    it->setFlags(Qt::ItemIsEnabled | Qt::ItemIsSelectable);
    return it;
}

void highlightRow(QTableWidget* table, int row)
{
    for (int c = 0; c < table->columnCount(); ++c)
        if (QTableWidgetItem* it = table->item(row, c))
            it->setBackground(CompareDialog::highlightColour());
}

} // namespace

CompareDialog::CompareDialog(const nnlab::RunDetails& a, const nnlab::RunDetails& b, QWidget* parent)
    : QDialog(parent)
{
    setWindowTitle(tr("Compare %1 and %2").arg(text(a.name), text(b.name)));
    resize(900, 640);

    m_experiment = new QTableWidget(this);
    m_experiment->setColumnCount(3);
    m_experiment->setHorizontalHeaderLabels(
        {tr("Setting"), tr("A: %1").arg(text(a.name)), tr("B: %1").arg(text(b.name))});
    m_metrics = new QTableWidget(this);
    m_metrics->setColumnCount(5);
    m_metrics->setHorizontalHeaderLabels(
        {tr("Metric"), tr("Final A"), tr("Final B"), tr("Best A (at step)"), tr("Best B (at step)")});
    for (QTableWidget* table : {m_experiment, m_metrics}) {
        table->verticalHeader()->setVisible(false);
        table->verticalHeader()->setDefaultSectionSize(table->fontMetrics().height() + 6);
        table->setEditTriggers(QAbstractItemView::NoEditTriggers);
        table->setSelectionBehavior(QAbstractItemView::SelectRows);
        table->setWordWrap(false);
        table->horizontalHeader()->setStretchLastSection(true);
        table->setFocusPolicy(Qt::NoFocus);
    }
    fillExperiment(a, b);
    fillMetrics(a, b);

    m_onlyDifferences = new QCheckBox(tr("Only differences"), this);
    connect(m_onlyDifferences, &QCheckBox::toggled, this, &CompareDialog::setOnlyDifferences);
    auto* summary = new QLabel(
        tr("A: %1\nB: %2\n%n setting(s) differ.", nullptr, static_cast<int>(m_differingKeys.size()))
            .arg(runTitle(a), runTitle(b)),
        this);
    summary->setTextInteractionFlags(Qt::TextSelectableByMouse);

    auto* splitter = new QSplitter(Qt::Vertical, this);
    splitter->addWidget(m_experiment);
    splitter->addWidget(m_metrics);
    splitter->setStretchFactor(0, 3);
    splitter->setStretchFactor(1, 2);

    auto* buttons = new QDialogButtonBox(QDialogButtonBox::Close, this);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);

    auto* layout = new QVBoxLayout(this);
    layout->addWidget(summary);
    layout->addWidget(m_onlyDifferences);
    layout->addWidget(splitter, 1);
    layout->addWidget(buttons);
}

QColor CompareDialog::highlightColour()
{
    return QColor(255, 224, 130);
}

void CompareDialog::fillExperiment(const nnlab::RunDetails& a, const nnlab::RunDetails& b)
{
    const QList<runs::DiffRow> rows = runs::diffJson(text(a.experimentJson), text(b.experimentJson));
    m_experiment->setRowCount(static_cast<int>(rows.size()));
    const QString missing = tr("(not set)");
    for (int r = 0; r < rows.size(); ++r) {
        const runs::DiffRow& row = rows[r];
        m_experiment->setItem(r, 0, item(row.key));
        m_experiment->setItem(r, 1, item(row.hasA ? row.a : missing));
        m_experiment->setItem(r, 2, item(row.hasB ? row.b : missing));
        if (row.differs()) {
            m_differingKeys << row.key;
            highlightRow(m_experiment, r);
        }
    }
    m_experiment->resizeColumnToContents(0);
    m_experiment->setColumnWidth(0, std::min(m_experiment->columnWidth(0) + 12, 320));
    m_experiment->horizontalHeader()->setSectionResizeMode(1, QHeaderView::Stretch);
    m_experiment->horizontalHeader()->setSectionResizeMode(2, QHeaderView::Stretch);
}

void CompareDialog::fillMetrics(const nnlab::RunDetails& a, const nnlab::RunDetails& b)
{
    struct Row {
        QString name, finalA, finalB, bestA, bestB;
        int better = 0;   // 1: A's final is better, 2: B's
    };
    QList<Row> rows;
    rows.push_back({tr("status"), QString::fromLatin1(nnlab::toString(a.status)),
                    QString::fromLatin1(nnlab::toString(b.status)), {}, {}, 0});
    rows.push_back({tr("duration"), RunsTableModel::formatDuration(a.duration),
                    RunsTableModel::formatDuration(b.duration), {}, {}, 0});
    rows.push_back({tr("steps"), QString::number(a.lastStep), QString::number(b.lastStep), {}, {}, 0});
    rows.push_back({tr("parameters"), QString::number(a.parameters), QString::number(b.parameters), {}, {}, 0});

    std::set<std::string> tags;
    for (const auto& [tag, s] : a.metrics)
        tags.insert(tag);
    for (const auto& [tag, s] : b.metrics)
        tags.insert(tag);
    const nnlab::MetricSummary none;
    for (const std::string& tag : tags) {
        const auto ia = a.metrics.find(tag);
        const auto ib = b.metrics.find(tag);
        const nnlab::MetricSummary& sa = ia == a.metrics.end() ? none : ia->second;
        const nnlab::MetricSummary& sb = ib == b.metrics.end() ? none : ib->second;
        auto best = [](const nnlab::MetricSummary& s) {
            return std::isfinite(s.bestValue) ? QStringLiteral("%1 (%2)").arg(number(s.bestValue)).arg(s.bestStep)
                                              : QStringLiteral("—");
        };
        Row row{text(tag), number(sa.finalValue), number(sb.finalValue), best(sa), best(sb), 0};
        const int direction = nnlab::metricDirection(tag);
        if (direction != 0 && std::isfinite(sa.finalValue) && std::isfinite(sb.finalValue)
            && sa.finalValue != sb.finalValue)
            row.better = (direction * (sa.finalValue - sb.finalValue) > 0) ? 1 : 2;
        rows.push_back(row);
    }
    m_metrics->setRowCount(static_cast<int>(rows.size()));
    for (int r = 0; r < rows.size(); ++r) {
        const Row& row = rows[r];
        const QString cells[] = {row.name, row.finalA, row.finalB, row.bestA, row.bestB};
        for (int c = 0; c < 5; ++c)
            m_metrics->setItem(r, c, item(cells[c]));
        if (row.better) {
            QTableWidgetItem* winner = m_metrics->item(r, row.better);
            QFont bold = winner->font();
            bold.setBold(true);
            winner->setFont(bold);
        }
    }
    m_metrics->resizeColumnToContents(0);
    m_metrics->setColumnWidth(0, m_metrics->columnWidth(0) + 12);
    for (int c = 1; c < 5; ++c)
        m_metrics->horizontalHeader()->setSectionResizeMode(c, QHeaderView::Stretch);
}

void CompareDialog::setOnlyDifferences(bool on)
{
    if (m_onlyDifferences->isChecked() != on) {
        const QSignalBlocker blocker(m_onlyDifferences);
        m_onlyDifferences->setChecked(on);
    }
    for (int r = 0; r < m_experiment->rowCount(); ++r)
        m_experiment->setRowHidden(r, on && !m_differingKeys.contains(m_experiment->item(r, 0)->text()));
}
