#include "plane_data.h"

#include "nnlab/data.h"
#include "nnlab/spec_json.h"
#include "nnlab/store.h"

namespace inspect {

bool mayBeTwoD(const nnlab::ExperimentSpec& spec)
{
    const std::vector<int64_t> shape = nnlab::knownSampleShape(spec.data);
    return shape.empty() || shape == std::vector<int64_t>{2};
}

namespace {

PlanePoints rawPoints(const nnlab::Dataset& d, const nnlab::DataBundle& bundle)
{
    PlanePoints p;
    p.xy = d.features;
    p.labels = d.labels;
    if (bundle.inputShift.size() == 2 && bundle.inputScale.size() == 2)
        for (size_t i = 0; i < p.xy.size(); ++i)
            p.xy[i] = p.xy[i] * bundle.inputScale[i % 2] + bundle.inputShift[i % 2];
    return p;
}

} // namespace

PlaneData loadPlaneData(const nnlab::ExperimentSpec& spec)
{
    PlaneData out;
    if (!mayBeTwoD(spec) || !spec.isClassification())
        return out;
    try {
        const nnlab::DataBundle bundle = nnlab::loadData(spec.data, true, spec.seed);
        if (bundle.train.sampleShape != std::vector<int64_t>{2})
            return out;
        out.twoD = true;
        out.train = rawPoints(bundle.train, bundle);
        out.validation = rawPoints(bundle.validation, bundle);
        out.classes = static_cast<int>(bundle.numClasses);
        for (const std::string& name : bundle.classNames)
            out.classNames << QString::fromStdString(name);
    } catch (const std::exception& e) {
        out.twoD = true;   // say why instead of "needs a 2-D data set"
        out.error = QString::fromUtf8(e.what());
    }
    return out;
}

StoredSnapshots readSnapshots(const QString& storePath, const QString& runId, nnlab::SnapshotKind kind,
                              const std::string& name)
{
    StoredSnapshots out;
    nnlab::StoreOptions options;
    options.readOnly = true;
    auto opened = nnlab::RunStore::open(storePath.toStdString(), options);
    if (!opened.ok()) {
        out.error = QString::fromStdString(opened.error.message);
        return out;
    }
    auto read = opened.value->snapshots(runId.toStdString(), kind, name);
    if (!read.ok())
        out.error = QString::fromStdString(read.error.message);
    else
        out.snapshots = std::move(read.value);
    return out;
}

bool storedExperiment(const QString& storePath, const QString& runId, nnlab::ExperimentSpec* spec, QString* error)
{
    nnlab::StoreOptions options;
    options.readOnly = true;
    auto opened = nnlab::RunStore::open(storePath.toStdString(), options);
    if (!opened.ok()) {
        *error = QString::fromStdString(opened.error.message);
        return false;
    }
    const auto run = opened.value->getRun(runId.toStdString());
    if (!run.ok()) {
        *error = QString::fromStdString(run.error.message);
        return false;
    }
    const nnlab::ParseResult parsed = nnlab::parseExperiment(run.value.experimentJson);
    if (!parsed.complete) {
        *error = QStringLiteral("run %1: its experiment does not parse: %2")
                     .arg(runId, QString::fromStdString(parsed.errorText()));
        return false;
    }
    *spec = parsed.spec;
    return true;
}

} // namespace inspect
