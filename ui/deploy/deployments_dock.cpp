#include "deployments_dock.h"

#include "deployment.h"

#include <qcustomplot.h>

#include <QDateTime>
#include <QGridLayout>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QListWidget>
#include <QPushButton>
#include <QSplitter>
#include <QTableWidget>
#include <QVBoxLayout>

namespace {

enum Column { RunColumn, StateColumn, UrlColumn, RateColumn, P50Column, P99Column, AlertsColumn, ColumnCount };

const QColor kValue(31, 119, 180);
const QColor kSecond(255, 127, 14);
const QColor kThreshold(214, 39, 40);      // firing values, alerts
const QColor kLimit(90, 90, 90);            // threshold lines

void setLine(QCustomPlot* plot, int graph, const QVector<double>& x, const QVector<double>& y)
{
    if (graph < plot->graphCount())
        plot->graph(graph)->setData(x, y, true);
}

// The monitor whose metric names this kind ("input_drift", "prediction_shift"), if any.
const DeploymentMonitor* monitorOf(const Deployment* d, const QString& metric)
{
    for (const DeploymentMonitor& m : d->monitors())
        if (m.metric == metric || m.name == metric)
            return &m;
    return nullptr;
}

} // namespace

DeploymentsDock::DeploymentsDock(QWidget* parent) : QWidget(parent)
{
    setObjectName(QStringLiteral("DeploymentsDock"));
    m_table = new QTableWidget(0, ColumnCount, this);
    m_table->setHorizontalHeaderLabels({tr("Run"), tr("State"), tr("Address"), tr("Requests/s"), tr("p50 ms"),
                                        tr("p99 ms"), tr("Alerts")});
    m_table->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_table->setSelectionMode(QAbstractItemView::SingleSelection);
    m_table->setEditTriggers(QAbstractItemView::NoEditTriggers);
    m_table->verticalHeader()->hide();
    m_table->horizontalHeader()->setStretchLastSection(true);
    connect(m_table, &QTableWidget::itemSelectionChanged, this, [this] {
        updateCharts();
        m_stop->setEnabled(selected() && selected()->state() != Deployment::State::Stopped);
    });

    m_deploy = new QPushButton(tr("Deploy selected run"), this);
    m_deploy->setToolTip(tr("Serve the run selected in the Runs dock on this machine (nnlab-cli serve): "
                            "HTTP predictions, Prometheus metrics and drift monitors"));
    connect(m_deploy, &QPushButton::clicked, this, &DeploymentsDock::deployRequested);
    m_stop = new QPushButton(tr("Stop"), this);
    m_stop->setEnabled(false);
    connect(m_stop, &QPushButton::clicked, this, &DeploymentsDock::stopSelected);
    m_detail = new QLabel(this);
    m_detail->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_detail->setWordWrap(true);

    m_rate = makePlot(tr("Requests per second"), tr("req/s"));
    m_latency = makePlot(tr("Latency (p50, p99)"), tr("ms"));
    m_drift = makePlot(tr("Input drift (PSI) and threshold"), tr("PSI"));
    m_shift = makePlot(tr("Prediction shift (PSI) and threshold"), tr("PSI"));
    m_latency->addGraph()->setPen(QPen(kSecond, 2));
    m_latency->graph(0)->setName(tr("p50"));
    m_latency->graph(1)->setName(tr("p99"));
    m_latency->legend->setVisible(true);
    m_latency->axisRect()->insetLayout()->setInsetAlignment(0, Qt::AlignTop | Qt::AlignLeft);
    for (QCustomPlot* plot : {m_drift, m_shift}) {
        QCPGraph* threshold = plot->addGraph();
        threshold->setPen(QPen(kLimit, 1.5, Qt::DashLine));
        threshold->setName(tr("threshold"));
        plot->graph(0)->setName(tr("value"));
    }

    m_alerts = new QListWidget(this);
    m_alerts->setObjectName(QStringLiteral("deploymentAlerts"));
    m_alerts->setWordWrap(true);
    m_alerts->setToolTip(tr("Alerts of the selected deployment, newest first (also on stderr, /metrics and the webhook)"));

    auto* buttons = new QHBoxLayout;
    buttons->addWidget(m_deploy);
    buttons->addWidget(m_stop);
    buttons->addWidget(m_detail, 1);
    auto* tableAndAlerts = new QSplitter(Qt::Horizontal, this);
    tableAndAlerts->addWidget(m_table);
    tableAndAlerts->addWidget(m_alerts);
    tableAndAlerts->setStretchFactor(0, 3);
    tableAndAlerts->setStretchFactor(1, 2);
    auto* top = new QWidget(this);
    auto* topLayout = new QVBoxLayout(top);
    topLayout->setContentsMargins(0, 0, 0, 0);
    topLayout->addLayout(buttons);
    topLayout->addWidget(tableAndAlerts);
    auto* charts = new QWidget(this);
    auto* grid = new QGridLayout(charts);
    grid->setContentsMargins(0, 0, 0, 0);
    grid->addWidget(m_rate, 0, 0);
    grid->addWidget(m_latency, 0, 1);
    grid->addWidget(m_drift, 1, 0);
    grid->addWidget(m_shift, 1, 1);
    auto* split = new QSplitter(Qt::Vertical, this);
    split->addWidget(top);
    split->addWidget(charts);
    split->setStretchFactor(1, 3);
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(4, 4, 4, 4);
    layout->addWidget(split);
}

DeploymentsDock::~DeploymentsDock()
{
    for (Deployment* d : m_deployments)
        d->stop();
}

QCustomPlot* DeploymentsDock::makePlot(const QString& title, const QString& unit)
{
    auto* plot = new QCustomPlot(this);
    plot->setMinimumSize(220, 140);
    plot->plotLayout()->insertRow(0);
    auto* caption = new QCPTextElement(plot, title);
    caption->setFont(QFont(font().family(), font().pointSize(), QFont::Bold));
    plot->plotLayout()->addElement(0, 0, caption);
    plot->xAxis->setLabel(tr("seconds"));
    plot->yAxis->setLabel(unit);
    plot->addGraph()->setPen(QPen(kValue, 2));
    plot->legend->setVisible(false);
    return plot;
}

Deployment* DeploymentsDock::deploy(const QString& runId, const QString& runName, const QString& databasePath)
{
    for (Deployment* d : m_deployments)
        if (d->runId() == runId && d->state() != Deployment::State::Stopped && d->state() != Deployment::State::Failed) {
            select(d);
            return d;
        }
    auto* d = new Deployment(runId, runName, databasePath, this);
    m_deployments.append(d);
    connect(d, &Deployment::stateChanged, this, [this] {
        updateTable();
        updateCharts();
    });
    connect(d, &Deployment::statsUpdated, this, [this, d] {
        updateTable();
        if (d == selected())
            updateCharts();
    });
    d->start();
    updateTable();
    select(d);
    return d;
}

void DeploymentsDock::stopSelected()
{
    if (Deployment* d = selected())
        d->stop();
}

Deployment* DeploymentsDock::selected() const
{
    const int row = m_table->currentRow();
    return row >= 0 && row < m_deployments.size() ? m_deployments[row] : nullptr;
}

void DeploymentsDock::select(Deployment* deployment)
{
    const int row = int(m_deployments.indexOf(deployment));
    if (row >= 0)
        m_table->selectRow(row);
}

void DeploymentsDock::updateTable()
{
    m_table->setRowCount(int(m_deployments.size()));
    for (int row = 0; row < m_deployments.size(); ++row) {
        const Deployment* d = m_deployments[row];
        const QJsonObject latency = d->lastStats()["latency_ms"].toObject();
        const bool live = d->state() == Deployment::State::Serving;
        int firing = 0;
        for (const DeploymentMonitor& m : d->monitors())
            firing += m.firing;
        const QStringList cells{
            d->runName().isEmpty() ? d->runId() : QString("%1 (%2)").arg(d->runName(), d->runId().section('-', -1)),
            d->stateText(),
            d->url(),
            live ? QString::number(d->lastStats()["request_rate"].toDouble(), 'f', 1) : QString(),
            live ? QString::number(latency["p50"].toDouble(), 'f', 2) : QString(),
            live ? QString::number(latency["p99"].toDouble(), 'f', 2) : QString(),
            live ? (firing ? tr("%n firing", nullptr, firing) : QString::number(d->alerts().size())) : QString(),
        };
        for (int c = 0; c < ColumnCount; ++c) {
            auto* item = m_table->item(row, c);
            if (!item) {
                item = new QTableWidgetItem;
                m_table->setItem(row, c, item);
            }
            item->setText(cells[c]);
            item->setForeground(firing && c == AlertsColumn ? QBrush(kThreshold) : QBrush());
            if (c == StateColumn && d->state() == Deployment::State::Failed)
                item->setForeground(QBrush(kThreshold));
        }
    }
    m_table->resizeColumnsToContents();
}

void DeploymentsDock::updateCharts()
{
    const Deployment* d = selected();
    m_stop->setEnabled(d && d->state() != Deployment::State::Stopped && d->state() != Deployment::State::Failed);
    m_detail->setText(!d ? tr("No deployment selected. Select a run in the Runs dock and press Deploy.")
                      : !d->message().isEmpty() ? d->message()
                      : d->url().isEmpty() ? tr("Starting…")
                                           : tr("POST %1/v1/predict  ·  metrics at %1/metrics").arg(d->url()));
    QVector<double> t, rate, p50, p99;
    if (d)
        for (const DeploymentSample& s : d->samples()) {
            t << s.seconds;
            rate << s.requestRate;
            p50 << s.p50;
            p99 << s.p99;
        }
    setLine(m_rate, 0, t, rate);
    setLine(m_latency, 0, t, p50);
    setLine(m_latency, 1, t, p99);
    const std::pair<QCustomPlot*, const char*> monitors[] = {{m_drift, "input_drift"}, {m_shift, "prediction_shift"}};
    for (const auto& [plot, metric] : monitors) {
        const DeploymentMonitor* m = d ? monitorOf(d, metric) : nullptr;
        setLine(plot, 0, m ? m->seconds : QVector<double>(), m ? m->values : QVector<double>());
        setLine(plot, 1, m ? m->seconds : QVector<double>(), m ? m->thresholds : QVector<double>());
        plot->graph(0)->setPen(QPen(m && m->firing ? kThreshold : kValue, 2));
    }
    for (QCustomPlot* plot : {m_rate, m_latency, m_drift, m_shift}) {
        plot->rescaleAxes();
        plot->yAxis->setRangeLower(0);
        if (plot->yAxis->range().upper <= 0)
            plot->yAxis->setRangeUpper(1);
        plot->replot(QCustomPlot::rpQueuedReplot);
    }
    m_alerts->clear();
    if (d)
        for (auto it = d->alerts().rbegin(); it != d->alerts().rend(); ++it) {
            const QString text = it->message.startsWith(it->monitor) ? it->message : it->monitor + ": " + it->message;
            auto* item = new QListWidgetItem(
                QString("%1  %2").arg(QDateTime::fromSecsSinceEpoch(qint64(it->time)).toString("HH:mm:ss"), text));
            item->setForeground(QBrush(kThreshold));
            m_alerts->addItem(item);
        }
    if (m_alerts->count() == 0)
        m_alerts->addItem(tr("No alerts"));
}
