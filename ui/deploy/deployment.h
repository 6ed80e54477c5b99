// One local deployment: `nnlab-cli serve RUN --port 0` as a child process, its port read from
// the line it prints once listening, and its /v1/stats polled every second into a history
// the Deployments dock charts. Stopping sends SIGTERM (the server drains and exits).
#pragma once

#include <QElapsedTimer>
#include <QJsonObject>
#include <QObject>
#include <QProcess>
#include <QStringList>
#include <QTimer>
#include <QVector>

class QNetworkAccessManager;

struct DeploymentSample {
    double seconds = 0;         // since the deployment started
    double requestRate = 0;     // requests per second
    double p50 = 0, p99 = 0;    // latency, milliseconds
    double errors = 0;          // errors so far
};

struct DeploymentMonitor {
    QString name;
    QString metric;
    double value = 0;
    double threshold = 0;
    bool firing = false;
    QVector<double> seconds, values, thresholds;   // history for the charts
};

struct DeploymentAlert {
    double time = 0;            // unix seconds
    QString monitor;
    QString message;
};

class Deployment : public QObject {
    Q_OBJECT
public:
    enum class State { Starting, Serving, Stopped, Failed };

    Deployment(const QString& runId, const QString& runName, const QString& databasePath, QObject* parent = nullptr);
    ~Deployment() override;   // stops the server

    void start();
    void stop();

    QString runId() const { return m_runId; }
    QString runName() const { return m_runName; }
    State state() const { return m_state; }
    QString stateText() const;
    int port() const { return m_port; }
    QString url() const;                       // "http://127.0.0.1:PORT", empty until serving
    QString message() const { return m_message; }   // why it failed or stopped
    const QVector<DeploymentSample>& samples() const { return m_samples; }
    const QVector<DeploymentMonitor>& monitors() const { return m_monitors; }
    const QVector<DeploymentAlert>& alerts() const { return m_alerts; }
    QJsonObject lastStats() const { return m_last; }

    // Where nnlab-cli is: $NNLAB_CLI, else beside this program (installed), else the build tree.
    static QString cliPath();

signals:
    void stateChanged();
    void statsUpdated();

private:
    void readOutput();
    void poll();
    void takeStats(const QJsonObject& stats);
    void setState(State state, const QString& message = {});

    QString m_runId, m_runName, m_databasePath;
    QProcess m_process;
    QNetworkAccessManager* m_network;
    QTimer m_poll;
    QElapsedTimer m_clock;
    State m_state = State::Stopped;
    int m_port = 0;
    QString m_message;
    QString m_log;              // the server's own lines, for the failure message
    QVector<DeploymentSample> m_samples;
    QVector<DeploymentMonitor> m_monitors;
    QVector<DeploymentAlert> m_alerts;
    QJsonObject m_last;
    bool m_pollInFlight = false;
};
