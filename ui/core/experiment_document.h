// The experiment being edited: one ExperimentSpec, every change an undoable command, and
// the validation results (problems, shapes) recomputed once per change for all views.
#pragma once

#include "nnlab/model_info.h"
#include "nnlab/spec.h"
#include "nnlab/spec_json.h"

#include <QObject>
#include <QString>

#include <functional>
#include <optional>

class QUndoStack;

class ExperimentDocument : public QObject {
    Q_OBJECT
public:
    explicit ExperimentDocument(QObject* parent = nullptr);

    const nnlab::ExperimentSpec& spec() const { return m_spec; }
    const nnlab::Problems& problems() const { return m_problems; }
    // Shapes, parameters and MACs per layer. What the model leaves to the data (an omitted
    // input, the output layer's size) is filled in from the loaded data when there is some for
    // the current data settings (setLoadedData), else those shapes are unknown.
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

    // Opens an experiment file through loadExperimentFile (data paths relative to the file's
    // folder, as nnlab-cli reads them). When the file was read whole it replaces the
    // experiment, problems of values and shapes included, and becomes filePath(); otherwise
    // nothing changes. The parse is returned for its problems.
    nnlab::ParseResult load(const QString& path);
    // Writes the experiment to `path` (data paths written for that folder, see
    // saveExperimentFile), which becomes filePath(), and marks it saved. Returns an error
    // message, or an empty string.
    QString save(const QString& path);

    // What the data loaded for `data` (the Data dock's preview) says about the model: its
    // per-sample shape, classes (classification) and regression targets. Used by modelInfo()
    // while the data settings stay the same; emits specChanged when that changes the shapes.
    void setLoadedData(const nnlab::DataSpec& data, bool classification, const std::vector<int64_t>& sampleShape,
                       int64_t numClasses, int64_t targetDim);

    QString filePath() const { return m_filePath; }
    void setFilePath(const QString& path);
    bool isModified() const;
    void markSaved();

    // Used by the undo commands: sets the spec without recording a step.
    void setSpecSilently(const nnlab::ExperimentSpec& spec);

signals:
    void specChanged();          // after every change, undo and redo included (and new loaded data)
    void filePathChanged();
    void modifiedChanged(bool modified);

private:
    struct LoadedData {
        nnlab::DataSpec data;
        bool classification = true;
        std::vector<int64_t> sampleShape;
        int64_t numClasses = 0;
        int64_t targetDim = 0;
    };
    void revalidate();

    nnlab::ExperimentSpec m_spec;
    nnlab::Problems m_problems;
    nnlab::ModelInfo m_modelInfo;
    std::optional<LoadedData> m_loaded;
    QUndoStack* m_undo;
    QString m_filePath;
};
