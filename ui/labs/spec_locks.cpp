#include "spec_locks.h"

#include <QFormLayout>
#include <QLabel>

bool specPathCovers(const std::string& lockPath, const std::string& widgetPath)
{
    if (lockPath.empty() || widgetPath.compare(0, lockPath.size(), lockPath) != 0)
        return false;
    if (widgetPath.size() == lockPath.size())
        return true;
    const char next = widgetPath[lockPath.size()];
    return next == '.' || next == '[';
}

namespace {

// A spec path names a field of the experiment: "section.key..." with a known section.
bool looksLikeSpecPath(const QString& name)
{
    static const char* sections[] = {"data.", "model.", "optimizer.", "schedule.", "training.", "monitors", "sweep.", "loss", "seed", "name"};
    for (const char* s : sections)
        if (name.startsWith(QLatin1String(s)))
            return !name.endsWith(QLatin1String(".problem"));
    return false;
}

// The form and label of a FormBinder row: the editor sits in a field widget of a QFormLayout.
QFormLayout* formOf(QWidget* widget, QWidget*& field)
{
    for (QWidget* c = widget; c && c->parentWidget(); c = c->parentWidget()) {
        if (auto* form = qobject_cast<QFormLayout*>(c->parentWidget()->layout())) {
            int row = -1;
            QFormLayout::ItemRole role;
            form->getWidgetPosition(c, &row, &role);
            if (row >= 0) {
                field = c;
                return form;
            }
        }
        if (c != widget)
            break;   // the editor itself, or its field container one level up
    }
    return nullptr;
}

} // namespace

std::vector<std::pair<std::string, QWidget*>> SpecLocks::specWidgets() const
{
    std::vector<std::pair<std::string, QWidget*>> out;
    if (m_root)
        for (QWidget* w : m_root->findChildren<QWidget*>())
            if (looksLikeSpecPath(w->objectName()))
                out.emplace_back(w->objectName().toStdString(), w);
    for (const auto& [path, w] : m_areas)
        if (w)
            out.emplace_back(path, w.data());
    return out;
}

SpecLocks::Saved& SpecLocks::saved(QWidget* widget)
{
    for (Saved& s : m_saved)
        if (s.widget == widget)
            return s;
    Saved s;
    s.widget = widget;
    s.enabled = widget->isEnabled();
    s.tooltip = widget->toolTip();
    QWidget* field = nullptr;
    if (QFormLayout* form = formOf(widget, field)) {
        s.form = form;
        s.label = form->labelForField(field);
        if (s.label)
            s.labelTooltip = s.label->toolTip();
    }
    m_saved.push_back(s);
    return m_saved.back();
}

void SpecLocks::restore(Saved& s)
{
    if (!s.widget)
        return;
    if (s.locked) {
        s.widget->setEnabled(s.enabled);
        s.widget->setToolTip(s.tooltip);
        if (s.label) {
            s.label->setEnabled(true);
            s.label->setToolTip(s.labelTooltip);
        }
    }
    if (s.hidden) {
        QWidget* field = nullptr;
        if (QFormLayout* form = formOf(s.widget, field))
            form->setRowVisible(field, true);
        else
            s.widget->setVisible(true);
    }
    s.locked = s.hidden = false;
}

void SpecLocks::apply(const std::vector<nnlab::LabLock>& locked, const std::vector<std::string>& hidden)
{
    for (const auto& [path, widget] : specWidgets()) {
        const nnlab::LabLock* lock = nullptr;
        for (const auto& l : locked)
            if (specPathCovers(l.path, path))
                lock = &l;
        bool hide = false;
        for (const auto& h : hidden)
            hide = hide || specPathCovers(h, path);
        if (!lock && !hide) {
            for (Saved& s : m_saved)
                if (s.widget == widget)
                    restore(s);
            continue;
        }
        Saved& s = saved(widget);
        if (lock) {
            const QString reason = QObject::tr("Locked by the lab: %1").arg(QString::fromStdString(lock->reason));
            widget->setEnabled(false);
            widget->setToolTip(reason);
            if (s.label) {
                s.label->setEnabled(false);
                s.label->setToolTip(reason);
            }
            s.locked = true;
        }
        if (hide) {
            QWidget* field = nullptr;
            if (QFormLayout* form = formOf(widget, field))
                form->setRowVisible(field, false);
            else
                widget->setVisible(false);
            s.hidden = true;
        }
    }
}

void SpecLocks::clear()
{
    for (Saved& s : m_saved)
        restore(s);
    m_saved.clear();
}

std::vector<QWidget*> SpecLocks::lockedWidgets() const
{
    std::vector<QWidget*> out;
    for (const Saved& s : m_saved)
        if (s.widget && s.locked)
            out.push_back(s.widget);
    return out;
}

std::vector<QWidget*> SpecLocks::hiddenWidgets() const
{
    std::vector<QWidget*> out;
    for (const Saved& s : m_saved)
        if (s.widget && s.hidden)
            out.push_back(s.widget);
    return out;
}
