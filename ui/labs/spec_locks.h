// Lab mode's locked and hidden controls: every editor widget whose objectName is a spec key
// path (FormBinder names its editors so: "optimizer.lr", "data.source") or that is registered
// as an area ("model" -> the model editor) is greyed out with the teacher's reason as its
// tooltip, or hidden with its form label, when a lock's path covers it. Generic over the
// editor panels: nothing in them knows about labs. clear() restores what apply() changed.
#pragma once

#include "nnlab/lab.h"

#include <QPointer>
#include <QString>
#include <QWidget>

#include <map>
#include <vector>

class QFormLayout;

// "optimizer" covers "optimizer", "optimizer.lr" and "optimizer.betas[0]"; not "optimizers".
bool specPathCovers(const std::string& lockPath, const std::string& widgetPath);

class SpecLocks {
public:
    // Widgets under `root` named by spec paths, plus `areas` (a spec path -> a whole editor).
    void setRoot(QWidget* root) { m_root = root; }
    void setArea(const QString& specPath, QWidget* widget) { m_areas.emplace_back(specPath.toStdString(), widget); }

    // Locks and hides; may be called again after the editors changed (rows re-shown by their
    // panel are hidden again). Widgets no longer covered are restored.
    void apply(const std::vector<nnlab::LabLock>& locked, const std::vector<std::string>& hidden);
    void clear();

    // The widgets apply() locked or hid, by their spec path (tests, the panel's summary).
    std::vector<QWidget*> lockedWidgets() const;
    std::vector<QWidget*> hiddenWidgets() const;

private:
    struct Saved {
        QPointer<QWidget> widget;
        QPointer<QWidget> label;        // its form label, when in a form
        QPointer<QFormLayout> form;
        bool enabled = true;
        QString tooltip;
        QString labelTooltip;
        bool locked = false;
        bool hidden = false;
    };
    std::vector<std::pair<std::string, QWidget*>> specWidgets() const;
    Saved& saved(QWidget* widget);
    void restore(Saved& s);

    QPointer<QWidget> m_root;
    std::vector<std::pair<std::string, QPointer<QWidget>>> m_areas;
    std::vector<Saved> m_saved;
};
