#include "shortcuts_dialog.h"

#include <algorithm>

#include <QAction>
#include <QDialogButtonBox>
#include <QDockWidget>
#include <QHeaderView>
#include <QMainWindow>
#include <QMenu>
#include <QMenuBar>
#include <QRegularExpression>
#include <QSet>
#include <QTreeWidget>
#include <QTreeWidgetItemIterator>
#include <QVBoxLayout>

namespace {

QString plainText(QString text)
{
    text.remove(QRegularExpression(QStringLiteral("&(?!&)")));
    text.replace(QStringLiteral("&&"), QStringLiteral("&"));
    if (text.endsWith(QChar(0x2026)))
        text.chop(1);
    return text.trimmed();
}

class Collector {
public:
    void add(QAction* action, ShortcutGroup& group)
    {
        if (action && !action->shortcuts().isEmpty() && !m_seen.contains(action)) {
            m_seen.insert(action);
            group.actions << action;
        }
    }

    void addMenu(const QMenu* menu, ShortcutGroup& group)
    {
        for (QAction* action : menu->actions()) {
            if (action->menu())
                addMenu(action->menu(), group);
            else
                add(action, group);
        }
    }

    // The actions of `root` and of every widget inside it, then the actions it owns.
    void addTree(const QWidget* root, ShortcutGroup& group)
    {
        for (QAction* action : root->actions())
            add(action, group);
        for (const QWidget* child : root->findChildren<QWidget*>())
            for (QAction* action : child->actions())
                add(action, group);
        for (QAction* action : root->findChildren<QAction*>())
            add(action, group);
    }

private:
    QSet<QAction*> m_seen;
};

// Where a shortcut works, as its context says.
QString scopeText(const QAction* action)
{
    const QWidget* widget = nullptr;
    for (QObject* object : action->associatedObjects()) {
        auto* w = qobject_cast<QWidget*>(object);
        if (w && !qobject_cast<QMenu*>(w) && !w->inherits("QToolBar") && !w->inherits("QToolButton")) {
            widget = w;
            break;
        }
    }
    const QString name = widget ? (widget->accessibleName().isEmpty() ? widget->objectName() : widget->accessibleName())
                                : QString();
    switch (action->shortcutContext()) {
    case Qt::WidgetShortcut:
        return name.isEmpty() ? ShortcutsDialog::tr("while its panel has focus")
                              : ShortcutsDialog::tr("while the %1 has focus").arg(name);
    case Qt::WidgetWithChildrenShortcut:
        return name.isEmpty() ? ShortcutsDialog::tr("in its panel") : ShortcutsDialog::tr("in the %1").arg(name);
    case Qt::ApplicationShortcut:
        return ShortcutsDialog::tr("anywhere in nnlab");
    case Qt::WindowShortcut:
        break;
    }
    return ShortcutsDialog::tr("anywhere in the window");
}

} // namespace

QString actionName(const QAction* action) { return plainText(action->text()); }

QString shortcutText(const QAction* action)
{
    QStringList keys;
    for (const QKeySequence& key : action->shortcuts())
        keys << key.toString(QKeySequence::NativeText);
    return keys.join(QStringLiteral(", "));
}

QList<ShortcutGroup> collectShortcuts(const QMainWindow* window)
{
    Collector collector;
    QList<ShortcutGroup> groups;
    auto addGroup = [&](const QString& title, const auto& fill) {
        ShortcutGroup group{title, {}};
        fill(group);
        if (!group.actions.isEmpty())
            groups << group;
    };
    for (QAction* top : window->menuBar()->actions())
        if (QMenu* menu = top->menu())
            addGroup(plainText(menu->title()), [&](ShortcutGroup& g) { collector.addMenu(menu, g); });
    for (const QDockWidget* dock : window->findChildren<QDockWidget*>())
        addGroup(ShortcutsDialog::tr("%1 dock").arg(plainText(dock->windowTitle())),
                 [&](ShortcutGroup& g) { collector.addTree(dock, g); });
    addGroup(ShortcutsDialog::tr("Other"), [&](ShortcutGroup& g) { collector.addTree(window, g); });
    return groups;
}

ShortcutsDialog::ShortcutsDialog(const QMainWindow* window, QWidget* parent)
    : QDialog(parent), m_tree(new QTreeWidget(this))
{
    setObjectName(QStringLiteral("shortcutsDialog"));
    setWindowTitle(tr("Keyboard Shortcuts"));
    m_tree->setObjectName(QStringLiteral("shortcutsTree"));
    m_tree->setColumnCount(3);
    m_tree->setHeaderLabels({tr("Action"), tr("Shortcut"), tr("Works")});
    m_tree->setRootIsDecorated(false);
    m_tree->setSelectionMode(QAbstractItemView::NoSelection);
    m_tree->setFocusPolicy(Qt::NoFocus);
    m_tree->setAlternatingRowColors(true);

    for (const ShortcutGroup& group : collectShortcuts(window)) {
        auto* header = new QTreeWidgetItem(m_tree, {group.title});
        header->setFirstColumnSpanned(true);
        QFont bold = header->font(ActionColumn);
        bold.setBold(true);
        header->setFont(ActionColumn, bold);
        for (QAction* action : group.actions) {
            auto* item = new QTreeWidgetItem(header, {actionName(action), shortcutText(action), scopeText(action)});
            item->setData(ActionColumn, Qt::UserRole, QVariant::fromValue<QObject*>(action));
            item->setToolTip(ActionColumn, action->toolTip());
        }
    }
    m_tree->expandAll();
    for (int c = 0; c < m_tree->columnCount(); ++c)
        m_tree->resizeColumnToContents(c);
    m_tree->header()->setStretchLastSection(true);

    auto* buttons = new QDialogButtonBox(QDialogButtonBox::Close, this);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    auto* layout = new QVBoxLayout(this);
    layout->addWidget(m_tree);
    layout->addWidget(buttons);

    // Tall enough to show every row without scrolling, up to a screenful.
    int rowsHeight = 0;
    for (QTreeWidgetItemIterator it(m_tree); *it; ++it)
        rowsHeight += m_tree->visualItemRect(*it).height();
    const int treeHeight = rowsHeight + m_tree->header()->sizeHint().height() + 2 * m_tree->frameWidth() + 4;
    m_tree->setMinimumHeight(std::min(treeHeight, 640));
    int columnsWidth = 2 * m_tree->frameWidth() + 24;
    for (int c = 0; c < m_tree->columnCount(); ++c)
        columnsWidth += m_tree->columnWidth(c);
    resize(std::max(columnsWidth, 520), sizeHint().height());
}
