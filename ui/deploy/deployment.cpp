#include "deployment.h"

#include "core/cli_path.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QNetworkAccessManager>
#include <QNetworkReply>
#include <QRegularExpression>

namespace {

constexpr int kPollMs = 1000;
constexpr int kHistory = 600;   // samples kept: ten minutes at one a second

} // namespace

Deployment::Deployment(const QString& runId, const QString& runName, const QString& databasePath, QObject* parent)
    : QObject(parent), m_runId(runId), m_runName(runName), m_databasePath(databasePath),
      m_network(new QNetworkAccessManager(this))
{
    m_process.setProcessChannelMode(QProcess::MergedChannels);
    connect(&m_process, &QProcess::readyRead, this, &Deployment::readOutput);
    connect(&m_process, &QProcess::errorOccurred, this, [this](QProcess::ProcessError error) {
        if (error == QProcess::FailedToStart)
            setState(State::Failed, tr("cannot start %1: %2").arg(cliPath(), m_process.errorString()));
    });
    connect(&m_process, qOverload<int, QProcess::ExitStatus>(&QProcess::finished), this,
            [this](int code, QProcess::ExitStatus status) {
                m_poll.stop();
                if (m_state == State::Stopped)
                    return;
                const QString last = m_log.trimmed().section('\n', -3);
                if (status == QProcess::CrashExit)
                    setState(State::Failed, tr("the server crashed. %1").arg(last));
                else if (code != 0)
                    setState(State::Failed, tr("the server exited with status %1: %2").arg(code).arg(last));
                else
                    setState(State::Stopped, tr("the server stopped"));
            });
    m_poll.setInterval(kPollMs);
    connect(&m_poll, &QTimer::timeout, this, &Deployment::poll);
}

Deployment::~Deployment()
{
    stop();
}

QString Deployment::cliPath()
{
    return nnlabCliPath();
}

QString Deployment::stateText() const
{
    switch (m_state) {
    case State::Starting: return tr("starting");
    case State::Serving: return tr("serving");
    case State::Stopped: return tr("stopped");
    case State::Failed: return tr("failed");
    }
    return {};
}

QString Deployment::url() const
{
    return m_port > 0 ? QStringLiteral("http://127.0.0.1:%1").arg(m_port) : QString();
}

void Deployment::start()
{
    if (m_process.state() != QProcess::NotRunning)
        return;
    m_port = 0;
    m_log.clear();
    m_samples.clear();
    m_monitors.clear();
    m_alerts.clear();
    setState(State::Starting);
    m_clock.start();
    m_process.start(cliPath(), {"serve", m_runId, "--db", m_databasePath, "--port", "0"});
}

void Deployment::stop()
{
    m_poll.stop();
    if (m_process.state() == QProcess::NotRunning)
        return;
    setState(State::Stopped, tr("stopped"));
    m_process.terminate();
    if (!m_process.waitForFinished(5000)) {
        m_process.kill();
        m_process.waitForFinished(2000);
    }
}

void Deployment::readOutput()
{
    static const QRegularExpression listening(QStringLiteral("on http://[^:\\s]+:(\\d+)"));
    while (m_process.canReadLine()) {
        const QString line = QString::fromUtf8(m_process.readLine());
        m_log += line;
        if (m_log.size() > 20000)
            m_log = m_log.right(10000);
        const QRegularExpressionMatch m = listening.match(line);
        if (m_state == State::Starting && m.hasMatch()) {
            m_port = m.captured(1).toInt();
            setState(State::Serving);
            m_poll.start();
            poll();
        }
    }
}

void Deployment::poll()
{
    if (m_port <= 0 || m_pollInFlight)
        return;
    m_pollInFlight = true;
    QNetworkRequest request(QUrl(url() + "/v1/stats"));
    request.setTransferTimeout(2000);
    QNetworkReply* reply = m_network->get(request);
    connect(reply, &QNetworkReply::finished, this, [this, reply] {
        m_pollInFlight = false;
        reply->deleteLater();
        if (reply->error() != QNetworkReply::NoError)
            return;   // a busy server misses a point; the process watch tells a dead one
        const QJsonDocument json = QJsonDocument::fromJson(reply->readAll());
        if (json.isObject())
            takeStats(json.object());
    });
}

void Deployment::takeStats(const QJsonObject& stats)
{
    m_last = stats;
    const double now = m_clock.elapsed() / 1000.0;
    const QJsonObject latency = stats["latency_ms"].toObject();
    m_samples.append({now, stats["request_rate"].toDouble(), latency["p50"].toDouble(), latency["p99"].toDouble(),
                      stats["errors_total"].toDouble()});
    if (m_samples.size() > kHistory)
        m_samples.remove(0, m_samples.size() - kHistory);

    const QJsonArray monitors = stats["monitors"].toArray();
    for (const QJsonValue& v : monitors) {
        const QJsonObject m = v.toObject();
        const QString name = m["name"].toString();
        auto it = std::find_if(m_monitors.begin(), m_monitors.end(), [&](const DeploymentMonitor& d) { return d.name == name; });
        if (it == m_monitors.end()) {
            m_monitors.append(DeploymentMonitor{name, m["metric"].toString()});
            it = m_monitors.end() - 1;
        }
        it->threshold = m["threshold"].toDouble();
        it->firing = m["firing"].toBool();
        if (m["value"].isNull())
            continue;   // not judged yet (its window is not full): no point rather than a zero
        it->value = m["value"].toDouble();
        it->seconds.append(now);
        it->values.append(it->value);
        it->thresholds.append(it->threshold);
        if (it->seconds.size() > kHistory) {
            it->seconds.removeFirst();
            it->values.removeFirst();
            it->thresholds.removeFirst();
        }
    }
    m_alerts.clear();
    for (const QJsonValue& v : stats["alerts"].toArray()) {
        const QJsonObject a = v.toObject();
        m_alerts.append({a["time"].toDouble(), a["monitor"].toString(), a["message"].toString()});
    }
    emit statsUpdated();
}

void Deployment::setState(State state, const QString& message)
{
    m_state = state;
    m_message = message;
    emit stateChanged();
}
