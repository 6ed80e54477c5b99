// The experiment being edited: one ExperimentSpec, every change an undoable command, and
// the validation results (problems, shapes) recomputed once per change for all views.
#pragma once

#include "nnlab/model_info.h"
#include "nnlab/spec.h"

#include <QObject>
#include <QString>

#include <functional>

class QUndoStack;

class ExperimentDocument : public QObject {
    Q_OBJECT
public:
    explicit ExperimentDocument(QObject* parent = nullptr);

    const nnlab::ExperimentSpec& spec() const { return m_spec; }
    const nnlab::Problems& problems() const { return m_problems; }
    const nnlab::ModelInfo& modelInfo() const { return m_modelInfo; }
    bool isValid() const { return m_problems.empty(); }
    // Problems whose path starts with `pathPrefix` ("model.layers[3]" also matches its options).
    nnlab::Problems problemsAt(const std::string& pathPrefix) const;

    QUndoStack* undoStack() const { return m_undo; }

    // Every edit goes through here: `edit` changes a copy of the spec; the change becomes one
    // undo step named `text`. Consecutive edits with the same non-negative `mergeId` (typing
    // in one field) merge into one step.
    void apply(const QString& text, const std::function<void(nnlab::ExperimentSpec&)>& edit, int mergeId = -1);

    // Replaces the whole experiment (New, Open, open a stored run): clears the undo history.
    void reset(const nnlab::ExperimentSpec& spec, const QString& filePath = {});

    QString filePath() const { return m_filePath; }
    void setFilePath(const QString& path);
    bool isModified() const;
    void markSaved();

    // Used by the undo commands: sets the spec without recording a step.
    void setSpecSilently(const nnlab::ExperimentSpec& spec);

signals:
    void specChanged();          // after every change, undo and redo included
    void filePathChanged();
    void modifiedChanged(bool modified);

private:
    void revalidate();

    nnlab::ExperimentSpec m_spec;
    nnlab::Problems m_problems;
    nnlab::ModelInfo m_modelInfo;
    QUndoStack* m_undo;
    QString m_filePath;
};
