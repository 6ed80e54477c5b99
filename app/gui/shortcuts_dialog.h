// Help > Keyboard Shortcuts: every action of the window that has a shortcut, grouped by the
// menu or dock it belongs to. The list is read from the actions themselves when the dialog
// opens, so it cannot fall out of step with them.
#pragma once

#include <QDialog>
#include <QList>
#include <QString>

class QAction;
class QMainWindow;
class QTreeWidget;

struct ShortcutGroup {
    QString title;            // "File", "Model dock", ...
    QList<QAction*> actions;  // each with at least one shortcut, in menu or widget order
};

// Every action with a shortcut in `window`: first the menu bar's menus (submenus included),
// then each dock's widgets, then any other (toolbars, the window itself). Each action is
// listed once, in the first group that has it.
QList<ShortcutGroup> collectShortcuts(const QMainWindow* window);

// An action's name as a user reads it: without the mnemonic "&" and a trailing "…".
QString actionName(const QAction* action);
// Its shortcuts as the platform writes them ("Ctrl+R, F5").
QString shortcutText(const QAction* action);

class ShortcutsDialog : public QDialog {
    Q_OBJECT
public:
    // Column 0 names the action, 1 its shortcuts, 2 where it applies. Each action row keeps
    // its QAction* in Qt::UserRole of column 0 (for tests).
    enum Column { ActionColumn, ShortcutColumn, ScopeColumn };

    explicit ShortcutsDialog(const QMainWindow* window, QWidget* parent = nullptr);

    QTreeWidget* tree() const { return m_tree; }

private:
    QTreeWidget* m_tree;
};
