#include "charts/alert_notifier.h"

#include "charts/alert_markers.h"

#include <QApplication>
#include <QStatusBar>
#include <QSystemTrayIcon>
#include <QWidget>

#include <algorithm>

namespace {

constexpr int kStatusMs = 15000;
constexpr int kBalloonMs = 8000;

} // namespace

AlertNotifier::AlertNotifier(QWidget* window, QStatusBar* statusBar, QObject* parent)
    : QObject(parent), m_window(window), m_statusBar(statusBar)
{
}

bool AlertNotifier::wantsNotification(const nnlab::MonitorAlert& alert, const std::vector<nnlab::MonitorSpec>& rules)
{
    if (alert.action.find("notify") != std::string::npos)
        return true;
    return std::any_of(rules.begin(), rules.end(), [&](const nnlab::MonitorSpec& rule) {
        return nnlab::monitorName(rule) == alert.rule
            && std::find(rule.actions.begin(), rule.actions.end(), nnlab::MonitorAction::Notify) != rule.actions.end();
    });
}

bool AlertNotifier::changedTheRun(const nnlab::MonitorAlert& alert)
{
    for (const char* word : {"stop", "rollback", "multiply_lr", "lr x", "lr ×"})
        if (alert.action.find(word) != std::string::npos)
            return true;
    return false;
}

void AlertNotifier::handle(const QString& runName, const nnlab::MonitorAlert& alert, bool notify)
{
    const QString text = charts::alertText(runName, alert);
    const bool changed = changedTheRun(alert);
    bool toStatus = changed;
    if (notify) {
        m_lastNotification = text;
        m_usedTray = QSystemTrayIcon::isSystemTrayAvailable() && QSystemTrayIcon::supportsMessages();
        if (m_usedTray) {
            if (!m_tray) {
                m_tray = new QSystemTrayIcon(QApplication::windowIcon(), this);
                m_tray->setToolTip(QStringLiteral("nnlab"));
            }
            m_tray->show();
            m_tray->showMessage(tr("nnlab: %1").arg(QString::fromStdString(alert.rule)), text,
                                changed ? QSystemTrayIcon::Warning : QSystemTrayIcon::Information, kBalloonMs);
        } else {
            toStatus = true;
            QApplication::alert(m_window);
        }
    }
    if (toStatus && m_statusBar) {
        // Short: the training bar's own message shares the line; the Alerts dock has the rest.
        m_lastStatus = tr("Alert: %1 · %2 at step %3 → %4")
                           .arg(runName, QString::fromStdString(alert.rule))
                           .arg(alert.step)
                           .arg(QString::fromStdString(alert.action));
        m_statusBar->showMessage(m_lastStatus, kStatusMs);
    }
}
