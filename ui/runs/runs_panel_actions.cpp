// RunsPanel's edits: the store calls, and the dialogs the buttons put in front of them.
#include "runs/runs_panel.h"

#include "runs/compare_dialog.h"
#include "runs/runs_filter.h"
#include "runs/runs_model.h"
#include "runs/sweep_view.h"

#include <QDragMoveEvent>
#include <QDropEvent>
#include <QFileDialog>
#include <QFileInfo>
#include <QInputDialog>
#include <QMimeData>
#include <QMessageBox>

namespace {

QString text(const std::string& s) { return QString::fromStdString(s); }

} // namespace

bool RunsPanel::renameRun(const QString& runId, const QString& name)
{
    if (!ensureStore())
        return false;
    const nnlab::StoreError error = m_store->rename(runId.toStdString(), name.trimmed().toStdString());
    if (!error.ok()) {
        reportStoreError(error);
        return false;
    }
    refresh();
    emit runRenamed(runId, name.trimmed());
    return true;
}

bool RunsPanel::setRunTags(const QString& runId, const QStringList& tags)
{
    if (!ensureStore())
        return false;
    std::vector<std::string> values;
    for (const QString& tag : tags)
        if (!tag.trimmed().isEmpty())
            values.push_back(tag.trimmed().toStdString());
    const nnlab::StoreError error = m_store->setTags(runId.toStdString(), values);
    if (!error.ok()) {
        reportStoreError(error);
        return false;
    }
    refresh();
    return true;
}

bool RunsPanel::setRunNotes(const QString& runId, const QString& notes)
{
    if (!ensureStore())
        return false;
    const nnlab::StoreError error = m_store->setNotes(runId.toStdString(), notes.toStdString());
    if (!error.ok()) {
        reportStoreError(error);
        return false;
    }
    refresh();
    return true;
}

bool RunsPanel::deleteRun(const QString& runId)
{
    if (!ensureStore())
        return false;
    const auto deleted = m_store->deleteRun(runId.toStdString(), nnlab::DeleteFiles::Checkpoints);
    if (!deleted.value.id.empty())
        refresh();   // drops its tick, which tells the charts
    if (!deleted.ok()) {
        reportStoreError(deleted.error);   // a checkpoint file left behind names the file
        return false;
    }
    return true;
}

bool RunsPanel::openExperiment(const QString& runId)
{
    if (!ensureStore())
        return false;
    const auto run = m_store->getRun(runId.toStdString());
    if (!run.ok()) {
        reportStoreError(run.error);
        return false;
    }
    emit openExperimentRequested(text(run.value.id), text(run.value.experimentJson));
    return true;
}

bool RunsPanel::resumeRun(const QString& runId)
{
    if (!ensureStore())
        return false;
    const auto run = m_store->getRun(runId.toStdString());
    if (!run.ok()) {
        reportStoreError(run.error);
        return false;
    }
    if (!canResume(run.value.status)) {
        showError(tr("Run %1 is %2: only interrupted, cancelled or failed runs can be resumed.")
                      .arg(runId, QString::fromLatin1(nnlab::toString(run.value.status))));
        return false;
    }
    emit resumeRequested(text(run.value.id));
    return true;
}

CompareDialog* RunsPanel::compareRuns(const QString& runA, const QString& runB)
{
    if (!ensureStore())
        return nullptr;
    const auto a = m_store->getRun(runA.toStdString());
    const auto b = a.ok() ? m_store->getRun(runB.toStdString()) : a;
    if (!a.ok() || !b.ok()) {
        reportStoreError(a.ok() ? b.error : a.error);
        return nullptr;
    }
    auto* dialog = new CompareDialog(a.value, b.value, this);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    dialog->show();
    return dialog;
}

SweepView* RunsPanel::openSweepView(const QStringList& runIds)
{
    if (m_storePath.isEmpty() || runIds.isEmpty()) {
        showError(tr("Select a sweep, or the runs to compare in the sweep view."));
        return nullptr;
    }
    auto* view = new SweepView(m_storePath, runIds, this);
    view->setAttribute(Qt::WA_DeleteOnClose);
    if (!view->isValid()) {
        showError(view->errorMessage());
        delete view;
        return nullptr;
    }
    view->show();
    return view;
}

// ---- the buttons ----

void RunsPanel::promptRename()
{
    const QString id = currentRun();
    const nnlab::RunSummary* run = m_model->runAt(m_model->rowOf(id));
    if (!run)
        return;
    bool ok = false;
    const QString name = QInputDialog::getText(this, tr("Rename run"), tr("Name:"), QLineEdit::Normal,
                                               text(run->name), &ok);
    if (ok && !name.trimmed().isEmpty() && !renameRun(id, name))
        QMessageBox::warning(this, tr("Rename run"), m_lastError);
}

void RunsPanel::promptTags()
{
    const QString id = currentRun();
    const nnlab::RunSummary* run = m_model->runAt(m_model->rowOf(id));
    if (!run)
        return;
    QStringList current;
    for (const std::string& tag : run->tags)
        current << text(tag);
    bool ok = false;
    const QString tags = QInputDialog::getText(this, tr("Tags"), tr("Tags, separated by commas:"),
                                               QLineEdit::Normal, current.join(QStringLiteral(", ")), &ok);
    if (ok && !setRunTags(id, tags.split(QLatin1Char(','), Qt::SkipEmptyParts)))
        QMessageBox::warning(this, tr("Tags"), m_lastError);
}

void RunsPanel::promptNotes()
{
    const QString id = currentRun();
    const nnlab::RunSummary* run = m_model->runAt(m_model->rowOf(id));
    if (!run)
        return;
    bool ok = false;
    const QString notes =
        QInputDialog::getMultiLineText(this, tr("Notes"), tr("Notes on %1:").arg(text(run->name)), text(run->notes), &ok);
    if (ok && !setRunNotes(id, notes))
        QMessageBox::warning(this, tr("Notes"), m_lastError);
}

void RunsPanel::promptDelete()
{
    const QStringList ids = selectedRuns();
    if (ids.isEmpty())
        return;
    QString question;
    if (ids.size() == 1) {
        const nnlab::RunSummary* run = m_model->runAt(m_model->rowOf(ids.front()));
        question = tr("Delete run \"%1\" with all its metrics and checkpoint files?")
                       .arg(run ? text(run->name) : ids.front());
    } else {
        question = tr("Delete %1 runs with all their metrics and checkpoint files?").arg(ids.size());
    }
    if (QMessageBox::question(this, tr("Delete runs"), question, QMessageBox::Yes | QMessageBox::Cancel,
                              QMessageBox::Cancel)
        != QMessageBox::Yes)
        return;
    QStringList failures;
    for (const QString& id : ids)
        if (!deleteRun(id))
            failures << m_lastError;
    if (!failures.isEmpty())
        QMessageBox::warning(this, tr("Delete runs"), failures.join(QLatin1Char('\n')));
}

void RunsPanel::openSelected()
{
    const QString id = currentRun();
    if (!id.isEmpty() && !openExperiment(id))
        QMessageBox::warning(this, tr("Open experiment"), m_lastError);
}

void RunsPanel::resumeSelected()
{
    const QString id = currentRun();
    if (!id.isEmpty() && !resumeRun(id))
        QMessageBox::warning(this, tr("Resume run"), m_lastError);
}

void RunsPanel::deploySelected()
{
    const QString id = currentRun();
    if (const nnlab::RunSummary* run = id.isEmpty() ? nullptr : m_model->runAt(m_model->rowOf(id)))
        emit deployRequested(id, QString::fromStdString(run->name));
}

void RunsPanel::predictSelected()
{
    const QString id = currentRun();
    if (id.isEmpty())
        return;
    const QStringList files = QFileDialog::getOpenFileNames(this, tr("Images to classify"), QString(),
                                                            tr("Images (*.png *.jpg *.jpeg *.bmp *.gif)"));
    if (!files.isEmpty())
        emit predictImagesRequested(id, files);
}

void RunsPanel::compressSelected()
{
    const QString id = currentRun();
    if (const nnlab::RunSummary* run = id.isEmpty() ? nullptr : m_model->runAt(m_model->rowOf(id)))
        emit compressRequested(id, QString::fromStdString(run->name));
}

void RunsPanel::compareCompressionSelected()
{
    const QStringList ids = selectedRuns();
    if (!ids.isEmpty())
        emit compareCompressionRequested(ids);
}

// Image files dragged over a run's row: accepted there, and predicted on drop.
bool RunsPanel::eventFilter(QObject* watched, QEvent* event)
{
    if (watched != m_view->viewport())
        return QWidget::eventFilter(watched, event);
    const auto imagesOf = [](const QMimeData* mime) {
        QStringList files;
        static const QStringList kinds{"png", "jpg", "jpeg", "bmp", "gif"};
        if (mime)
            for (const QUrl& url : mime->urls())
                if (url.isLocalFile() && kinds.contains(QFileInfo(url.toLocalFile()).suffix().toLower()))
                    files << url.toLocalFile();
        return files;
    };
    const auto runUnder = [this](const QPoint& pos) -> const nnlab::RunSummary* {
        return m_model->runAt(m_proxy->mapToSource(m_view->indexAt(pos)));
    };
    switch (event->type()) {
    case QEvent::DragEnter:
    case QEvent::DragMove: {
        auto* drag = static_cast<QDragMoveEvent*>(event);
        const bool ok = !imagesOf(drag->mimeData()).isEmpty() && runUnder(drag->position().toPoint());
        if (ok)
            drag->acceptProposedAction();
        else
            drag->ignore();
        return true;
    }
    case QEvent::Drop: {
        auto* drop = static_cast<QDropEvent*>(event);
        const QStringList files = imagesOf(drop->mimeData());
        const nnlab::RunSummary* run = runUnder(drop->position().toPoint());
        if (files.isEmpty() || !run)
            return false;
        drop->acceptProposedAction();
        emit predictImagesRequested(QString::fromStdString(run->id), files);
        return true;
    }
    default:
        return QWidget::eventFilter(watched, event);
    }
}

void RunsPanel::sweepViewSelected()
{
    const QStringList ids = sweepViewCandidates();
    if (!ids.isEmpty() && !openSweepView(ids))
        QMessageBox::warning(this, tr("Sweep view"), m_lastError);
}

void RunsPanel::compareSelected()
{
    const QStringList ids = compareCandidates();
    if (ids.size() == 2 && !compareRuns(ids[0], ids[1]))
        QMessageBox::warning(this, tr("Compare runs"), m_lastError);
}
