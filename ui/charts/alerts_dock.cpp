#include "charts/alerts_dock.h"

#include "charts/alert_markers.h"
#include "charts/charts_panel.h"

#include <QDateTime>
#include <QHeaderView>
#include <QLabel>
#include <QLocale>
#include <QTableWidget>
#include <QVBoxLayout>

#include <algorithm>
#include <cmath>

namespace {

constexpr int kRunIdRole = Qt::UserRole;
constexpr int kStepRole = Qt::UserRole + 1;

QString number(double value)
{
    return std::isfinite(value) ? QString::number(value, 'g', 5) : (std::isnan(value) ? QStringLiteral("—") : QString::number(value));
}

} // namespace

AlertsDock::AlertsDock(ChartsPanel* charts, QWidget* parent) : QWidget(parent), m_charts(charts)
{
    m_table = new QTableWidget(0, ColumnCount, this);
    m_table->setObjectName(QStringLiteral("alertsTable"));
    m_table->setHorizontalHeaderLabels(
        {tr("Time"), tr("Run"), tr("Rule"), tr("Step"), tr("Value"), tr("Threshold"), tr("Action")});
    m_table->setEditTriggers(QAbstractItemView::NoEditTriggers);
    m_table->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_table->setSelectionMode(QAbstractItemView::SingleSelection);
    m_table->verticalHeader()->setVisible(false);
    m_table->verticalHeader()->setDefaultSectionSize(m_table->fontMetrics().height() + 6);
    m_table->horizontalHeader()->setStretchLastSection(true);
    m_table->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
    m_table->setWordWrap(false);
    m_table->setToolTip(tr("Monitor rules that fired on the runs the charts show, newest first; "
                           "double-click a line to centre the charts on its step"));
    connect(m_table, &QTableWidget::cellDoubleClicked, this, [this](int row, int) { activate(row); });

    m_empty = new QLabel(tr("No alerts on the runs shown. Monitor rules (Monitors dock) add a line here "
                            "and a marker on the charts when they fire."), this);
    m_empty->setWordWrap(true);
    m_empty->setStyleSheet(QStringLiteral("color: palette(mid);"));

    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(2, 2, 2, 2);
    layout->addWidget(m_empty);
    layout->addWidget(m_table, 1);

    connect(m_charts, &ChartsPanel::alertsChanged, this, &AlertsDock::rebuild);
    rebuild();
}

int AlertsDock::rowCount() const { return m_table->rowCount(); }

QString AlertsDock::runIdAt(int row) const
{
    const QTableWidgetItem* item = m_table->item(row, TimeColumn);
    return item ? item->data(kRunIdRole).toString() : QString();
}

qint64 AlertsDock::stepAt(int row) const
{
    const QTableWidgetItem* item = m_table->item(row, TimeColumn);
    return item ? item->data(kStepRole).toLongLong() : -1;
}

void AlertsDock::rebuild()
{
    struct Row {
        const charts::ChartRun* run;
        const charts::ChartAlert* alert;
        size_t order;
    };
    std::vector<Row> rows;
    for (const auto& run : m_charts->runs())
        for (size_t i = 0; i < run->alerts.size(); ++i)
            rows.push_back({run.get(), &run->alerts[i], i});
    // Newest first; alerts of one run without times in the order they fired.
    std::stable_sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) {
        const double ta = std::isfinite(a.alert->wallTime) ? a.alert->wallTime : -1e300;
        const double tb = std::isfinite(b.alert->wallTime) ? b.alert->wallTime : -1e300;
        if (ta != tb)
            return ta > tb;
        return a.order > b.order;
    });

    m_table->setUpdatesEnabled(false);
    m_table->setRowCount(static_cast<int>(rows.size()));
    const QLocale locale;
    for (int r = 0; r < static_cast<int>(rows.size()); ++r) {
        const charts::ChartAlert& a = *rows[static_cast<size_t>(r)].alert;
        const charts::ChartRun& run = *rows[static_cast<size_t>(r)].run;
        const QDateTime when = std::isfinite(a.wallTime)
            ? QDateTime::fromMSecsSinceEpoch(static_cast<qint64>(a.wallTime * 1000.0))
            : QDateTime();
        const QString time = !when.isValid() ? QStringLiteral("—")
            : when.date() == QDate::currentDate() ? when.toString(QStringLiteral("HH:mm:ss"))
                                                  : when.toString(QStringLiteral("yyyy-MM-dd HH:mm"));
        const QString cells[ColumnCount] = {
            time,
            run.name,
            QString::fromStdString(a.alert.rule),
            locale.toString(static_cast<qlonglong>(a.alert.step)),
            number(a.alert.value),
            number(a.alert.threshold),
            QString::fromStdString(a.alert.action),
        };
        const QString tip = charts::alertText(run.name, a.alert)
            + (when.isValid() ? QStringLiteral("\n") + locale.toString(when, QLocale::LongFormat) : QString());
        for (int c = 0; c < ColumnCount; ++c) {
            auto* item = new QTableWidgetItem(cells[c]);
            item->setToolTip(tip);
            if (c == StepColumn || c == ValueColumn || c == ThresholdColumn)
                item->setTextAlignment(Qt::AlignRight | Qt::AlignVCenter);
            if (c == RunColumn)
                item->setForeground(charts::runColour(run.colourIndex).darker(120));
            m_table->setItem(r, c, item);
        }
        m_table->item(r, TimeColumn)->setData(kRunIdRole, run.id);
        m_table->item(r, TimeColumn)->setData(kStepRole, static_cast<qlonglong>(a.alert.step));
    }
    m_table->setUpdatesEnabled(true);
    m_empty->setVisible(rows.empty());
}

void AlertsDock::activate(int row)
{
    const QString runId = runIdAt(row);
    if (!runId.isEmpty())
        m_charts->showStep(runId, stepAt(row));
}
