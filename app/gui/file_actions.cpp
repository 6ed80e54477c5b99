#include "file_actions.h"

#include "core/experiment_document.h"
#include "nnlab/spec_json.h"

#include <QAction>
#include <QCoreApplication>
#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QMenu>
#include <QMessageBox>
#include <QSettings>
#include <QWidget>

namespace {
constexpr int kMaxRecent = 8;
const char* kFilter = "nnlab experiments (*.json);;All files (*)";

// Where the example experiments are: installed beside the program (<prefix>/share/nnlab,
// found relative to <prefix>/bin so any prefix works), else the source tree's for a build
// tree; empty when neither exists.
QString examplesDir()
{
    const QString installed = QDir(QCoreApplication::applicationDirPath())
                                  .filePath(QStringLiteral(NNLAB_DATADIR_FROM_BINDIR "/experiments"));
    for (const QString& dir : {installed, QStringLiteral(NNLAB_SOURCE_EXAMPLES_DIR)})
        if (QFileInfo(dir).isDir())
            return QDir::cleanPath(dir);
    return {};
}
} // namespace

FileActions::FileActions(ExperimentDocument* document, QWidget* window)
    : QObject(window), m_document(document), m_window(window)
{
    m_new = new QAction(QIcon::fromTheme("document-new"), tr("&New experiment"), this);
    m_new->setShortcut(QKeySequence::New);
    m_new->setToolTip(tr("Start from the default Fashion-MNIST CNN"));
    m_open = new QAction(QIcon::fromTheme("document-open"), tr("&Open…"), this);
    m_open->setShortcut(QKeySequence::Open);
    m_save = new QAction(QIcon::fromTheme("document-save"), tr("&Save"), this);
    m_save->setShortcut(QKeySequence::Save);
    m_saveAs = new QAction(tr("Save &As…"), this);
    m_saveAs->setShortcut(QKeySequence::SaveAs);
    m_recent = new QMenu(tr("Open &Recent"), window);

    connect(m_new, &QAction::triggered, this, [this] {
        if (maybeSave())
            m_document->reset(nnlab::defaultExperiment());
    });
    connect(m_open, &QAction::triggered, this, [this] {
        if (!maybeSave())
            return;
        // A new experiment has no folder of its own: start in the examples.
        const QString dir = m_document->filePath().isEmpty() ? examplesDir()
                                                              : QFileInfo(m_document->filePath()).absolutePath();
        const QString path = QFileDialog::getOpenFileName(m_window, tr("Open experiment"), dir, tr(kFilter));
        if (!path.isEmpty())
            open(path);
    });
    connect(m_save, &QAction::triggered, this, [this] { save(); });
    connect(m_saveAs, &QAction::triggered, this, [this] { saveAs(); });
    rebuildRecentMenu();
}

bool FileActions::maybeSave()
{
    if (!m_document->isModified())
        return true;
    const auto answer = QMessageBox::warning(m_window, tr("Unsaved changes"),
                                             tr("The experiment has unsaved changes. Save them?"),
                                             QMessageBox::Save | QMessageBox::Discard | QMessageBox::Cancel,
                                             QMessageBox::Save);
    if (answer == QMessageBox::Cancel)
        return false;
    return answer == QMessageBox::Discard || save();
}

bool FileActions::open(const QString& path)
{
    const nnlab::ParseResult parsed = m_document->load(path);
    if (!parsed.complete) {
        // Unknown keys or wrong types: the spec would not say what the file says, so it is
        // not opened; every problem is listed so the user can fix the file.
        QMessageBox::warning(m_window, tr("Cannot open experiment"),
                             tr("%1 has problems:\n\n%2").arg(path, QString::fromStdString(parsed.errorText())));
        return false;
    }
    addRecent(path);
    return true;
}

bool FileActions::save()
{
    if (m_document->filePath().isEmpty())
        return saveAs();
    return saveTo(m_document->filePath());
}

bool FileActions::saveAs(const QString& given)
{
    QString path = given;
    if (path.isEmpty()) {
        const QString suggestion = m_document->filePath().isEmpty()
                                       ? QString::fromStdString(m_document->spec().name) + ".json"
                                       : m_document->filePath();
        path = QFileDialog::getSaveFileName(m_window, tr("Save experiment"), suggestion, tr(kFilter));
        if (path.isEmpty())
            return false;
    }
    if (QFileInfo(path).suffix().isEmpty())
        path += ".json";
    return saveTo(path);
}

bool FileActions::saveTo(const QString& path)
{
    const QString error = m_document->save(path);
    if (!error.isEmpty()) {
        QMessageBox::critical(m_window, tr("Cannot save"), error);
        return false;
    }
    addRecent(path);
    return true;
}

QStringList FileActions::recentFiles() const
{
    return QSettings().value("recentFiles").toStringList();
}

void FileActions::addRecent(const QString& path)
{
    QStringList files = recentFiles();
    const QString absolute = QFileInfo(path).absoluteFilePath();
    files.removeAll(absolute);
    files.prepend(absolute);
    while (files.size() > kMaxRecent)
        files.removeLast();
    QSettings().setValue("recentFiles", files);
    rebuildRecentMenu();
}

void FileActions::rebuildRecentMenu()
{
    m_recent->clear();
    const QStringList files = recentFiles();
    for (const QString& file : files) {
        QAction* action = m_recent->addAction(QFileInfo(file).fileName());
        action->setToolTip(file);
        connect(action, &QAction::triggered, this, [this, file] {
            if (maybeSave())
                open(file);
        });
    }
    m_recent->setEnabled(!files.isEmpty());
}
