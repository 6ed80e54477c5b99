// The Deployments dock: start and stop local deployments of runs (`nnlab-cli serve`), and
// watch each one live: request rate, latency percentiles, the drift monitors with their
// thresholds, and the alerts they raised.
#pragma once

#include <QList>
#include <QWidget>

class Deployment;
class QCPGraph;
class QCustomPlot;
class QLabel;
class QListWidget;
class QPushButton;
class QTableWidget;

class DeploymentsDock : public QWidget {
    Q_OBJECT
public:
    explicit DeploymentsDock(QWidget* parent = nullptr);
    ~DeploymentsDock() override;   // stops every deployment

    // Starts serving a run of the store; a run already deployed is selected instead.
    Deployment* deploy(const QString& runId, const QString& runName, const QString& databasePath);
    void stopSelected();
    QList<Deployment*> deployments() const { return m_deployments; }
    Deployment* selected() const;
    void select(Deployment* deployment);

signals:
    // "Deploy selected run" asks the window for the run selected in the Runs dock.
    void deployRequested();

private:
    void updateTable();
    void updateCharts();
    QCustomPlot* makePlot(const QString& title, const QString& unit);

    QList<Deployment*> m_deployments;
    QTableWidget* m_table = nullptr;
    QPushButton* m_deploy = nullptr;
    QPushButton* m_stop = nullptr;
    QLabel* m_detail = nullptr;
    QCustomPlot* m_rate = nullptr;
    QCustomPlot* m_latency = nullptr;
    QCustomPlot* m_drift = nullptr;
    QCustomPlot* m_shift = nullptr;
    QListWidget* m_alerts = nullptr;
};
