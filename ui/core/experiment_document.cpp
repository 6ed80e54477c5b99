#include "experiment_document.h"

#include "nnlab/spec_json.h"

#include <QUndoCommand>
#include <QUndoStack>

namespace {

// Snapshot commands: specs are small value types, so before/after copies are the simplest
// undo that cannot drift from what the edit did.
class SpecCommand : public QUndoCommand {
public:
    SpecCommand(ExperimentDocument* doc, const QString& text, nnlab::ExperimentSpec before,
                nnlab::ExperimentSpec after, int mergeId)
        : QUndoCommand(text), m_doc(doc), m_before(std::move(before)), m_after(std::move(after)), m_mergeId(mergeId)
    {
    }
    void undo() override { m_doc->setSpecSilently(m_before); }
    void redo() override { m_doc->setSpecSilently(m_after); }
    int id() const override { return m_mergeId; }
    bool mergeWith(const QUndoCommand* other) override
    {
        if (other->id() != m_mergeId || m_mergeId < 0)
            return false;
        m_after = static_cast<const SpecCommand*>(other)->m_after;
        return true;
    }

private:
    ExperimentDocument* m_doc;
    nnlab::ExperimentSpec m_before;
    nnlab::ExperimentSpec m_after;
    int m_mergeId;
};

// The data settings that decide the sample shape and the classes (not the split, the
// normalization or the sample count of a file).
bool sameShapeSource(const nnlab::DataSpec& a, const nnlab::DataSpec& b)
{
    return a.source == b.source && a.path == b.path && a.testPath == b.testPath && a.classes == b.classes
           && a.labelColumn == b.labelColumn && a.header == b.header && a.delimiter == b.delimiter
           && a.skipRows == b.skipRows && a.comment == b.comment;
}

} // namespace

ExperimentDocument::ExperimentDocument(QObject* parent)
    : QObject(parent), m_spec(nnlab::defaultExperiment()), m_undo(new QUndoStack(this))
{
    connect(m_undo, &QUndoStack::cleanChanged, this, [this](bool clean) { emit modifiedChanged(!clean); });
    revalidate();
}

nnlab::Problems ExperimentDocument::problemsAt(const std::string& prefix) const
{
    nnlab::Problems out;
    for (const auto& p : m_problems) {
        if (p.path.compare(0, prefix.size(), prefix) != 0)
            continue;
        // "model.layers[1]" must not match "model.layers[10]".
        const char next = p.path.size() > prefix.size() ? p.path[prefix.size()] : '\0';
        if (next == '\0' || next == '.' || next == ' ' || next == '[')
            out.push_back(p);
    }
    return out;
}

void ExperimentDocument::apply(const QString& text, const std::function<void(nnlab::ExperimentSpec&)>& edit, int mergeId)
{
    nnlab::ExperimentSpec after = m_spec;
    edit(after);
    if (after == m_spec)
        return;
    m_undo->push(new SpecCommand(this, text, m_spec, std::move(after), mergeId));
}

void ExperimentDocument::reset(const nnlab::ExperimentSpec& spec, const QString& filePath)
{
    m_undo->clear();
    setFilePath(filePath);
    setSpecSilently(spec);
    m_undo->setClean();
    emit modifiedChanged(false);
}

nnlab::ParseResult ExperimentDocument::load(const QString& path)
{
    nnlab::ParseResult parsed = nnlab::loadExperimentFile(path.toStdString());
    if (parsed.complete)
        reset(parsed.spec, path);
    return parsed;
}

QString ExperimentDocument::save(const QString& path)
{
    const std::string error = nnlab::saveExperimentFile(m_spec, path.toStdString());
    if (!error.empty())
        return QString::fromStdString(error);
    setFilePath(path);
    markSaved();
    return {};
}

void ExperimentDocument::setLoadedData(const nnlab::DataSpec& data, bool classification,
                                       const std::vector<int64_t>& sampleShape, int64_t numClasses, int64_t targetDim)
{
    m_loaded = LoadedData{data, classification, sampleShape, numClasses, targetDim};
    if (!nnlab::dependsOnData(m_spec.model))
        return;
    revalidate();
    emit specChanged();
}

void ExperimentDocument::setFilePath(const QString& path)
{
    if (path == m_filePath)
        return;
    m_filePath = path;
    emit filePathChanged();
}

bool ExperimentDocument::isModified() const { return !m_undo->isClean(); }

void ExperimentDocument::markSaved() { m_undo->setClean(); }

void ExperimentDocument::setSpecSilently(const nnlab::ExperimentSpec& spec)
{
    m_spec = spec;
    revalidate();
    emit specChanged();
}

void ExperimentDocument::revalidate()
{
    m_problems = nnlab::validateExperiment(m_spec, &m_modelInfo);
    if (m_loaded && nnlab::dependsOnData(m_spec.model) && sameShapeSource(m_loaded->data, m_spec.data)
        && m_loaded->classification == m_spec.isClassification()) {
        const nnlab::ExperimentSpec completed = nnlab::completeFromData(m_spec, m_loaded->sampleShape,
                                                                        m_loaded->numClasses, m_loaded->targetDim);
        nnlab::Problems ignored;
        m_modelInfo = nnlab::inspectModel(completed.model, ignored);
    }
}
