// New / Open / Save / Save As / recent files for the experiment document, with the
// unsaved-changes prompt. Files are the same experiment JSON nnlab-cli trains, read and
// written by the document, so data paths are relative to the file's folder as in nnlab-cli.
#pragma once

#include <QObject>
#include <QStringList>

class ExperimentDocument;
class QAction;
class QMenu;
class QWidget;

class FileActions : public QObject {
    Q_OBJECT
public:
    FileActions(ExperimentDocument* document, QWidget* window);

    QAction* newAction() const { return m_new; }
    QAction* openAction() const { return m_open; }
    QAction* saveAction() const { return m_save; }
    QAction* saveAsAction() const { return m_saveAs; }
    QMenu* recentMenu() const { return m_recent; }

    // Asks to save unsaved changes. False when the user cancels.
    bool maybeSave();
    bool open(const QString& path);       // shows a message box on problems; false then
    bool save();
    bool saveAs(const QString& path = {});
    QStringList recentFiles() const;

private:
    bool saveTo(const QString& path);   // a message box on failure
    void addRecent(const QString& path);
    void rebuildRecentMenu();

    ExperimentDocument* m_document;
    QWidget* m_window;
    QAction* m_new;
    QAction* m_open;
    QAction* m_save;
    QAction* m_saveAs;
    QMenu* m_recent;
};
