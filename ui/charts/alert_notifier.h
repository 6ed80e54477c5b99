// What a person hears of an alert while the GUI trains: rules with the notify action pop up a
// desktop notification (the system tray's, where there is one; else the status bar and a
// taskbar flash through QApplication::alert); a rule that stopped the run, rolled it back or
// changed its learning rate says so in the status bar.
#pragma once

#include "nnlab/monitor_alert.h"

#include <QObject>
#include <QPointer>
#include <QString>

#include <vector>

class QStatusBar;
class QSystemTrayIcon;
class QWidget;

class AlertNotifier : public QObject {
    Q_OBJECT
public:
    AlertNotifier(QWidget* window, QStatusBar* statusBar, QObject* parent = nullptr);

    // Whether the alert's rule asked for a notification: its action text names notify, or the
    // rule of that name in `rules` (the experiment being trained) has the notify action.
    static bool wantsNotification(const nnlab::MonitorAlert& alert, const std::vector<nnlab::MonitorSpec>& rules);
    // Whether the action changed the run (stop, rollback, a new learning rate).
    static bool changedTheRun(const nnlab::MonitorAlert& alert);

    void handle(const QString& runName, const nnlab::MonitorAlert& alert, bool notify);

    // The last status-bar line and notification (for tests); whether the tray showed it.
    QString lastStatus() const { return m_lastStatus; }
    QString lastNotification() const { return m_lastNotification; }
    bool usedTray() const { return m_usedTray; }

private:
    QWidget* m_window;
    QPointer<QStatusBar> m_statusBar;
    QSystemTrayIcon* m_tray = nullptr;   // created at the first notification
    QString m_lastStatus;
    QString m_lastNotification;
    bool m_usedTray = false;
};
