// compressRun (nnlab/compress.h): load the parent, measure it, make the compressed model with
// the method's own code (prune*.cpp, quantize*.cpp), fine-tune it when asked, measure it the
// same way, and record it as a run whose parent is the source run.
#include "nnlab/compress.h"

#include "builder.h"
#include "compress_methods.h"
#include "compress_record.h"
#include "measure.h"
#include "weights_io.h"

#include "nnlab/model_interface.h"
#include "nnlab/run_recorder.h"
#include "nnlab/run_session.h"
#include "nnlab/runtime.h"
#include "nnlab/spec_json.h"
#include "nnlab/store.h"
#include "nnlab/trained_model.h"
#include "train_hooks.h"

#include <cstdio>
#include <filesystem>
#include <random>
#include <sstream>
#include <stdexcept>

namespace nnlab {

namespace compress {

namespace {

std::string number(double value)
{
    std::ostringstream out;
    out << value;
    return out.str();
}

void validateRequest(const CompressRequest& r)
{
    const bool prune = r.method == CompressMethod::PruneUnstructured || r.method == CompressMethod::PruneStructured;
    const bool quantize = r.method == CompressMethod::QuantizeStatic || r.method == CompressMethod::QuantizeDynamic;
    if (!prune && !quantize)
        throw std::invalid_argument(std::string("method: compressRun prunes or quantizes; '") + compressMethodName(r.method)
                                    + "' is not one of them (distillation: nnlab/distill.h)");
    if (prune) {
        const PruneOptions& p = r.prune;
        if (!(p.sparsity >= 0.0 && p.sparsity < 1.0))
            throw std::invalid_argument("--prune: a sparsity must be in [0, 1), got " + number(p.sparsity));
        if (p.finetuneEpochs < 0)
            throw std::invalid_argument("--finetune-epochs: must be >= 0, got " + std::to_string(p.finetuneEpochs));
        if (p.schedule == PruneSchedule::Agp && p.finetuneEpochs < 1)
            throw std::invalid_argument("--schedule agp: the sparsity ramps up over fine-tuning; give --finetune-epochs >= 1");
    } else {
        const QuantizeOptions& q = r.quantize;
        if (q.mode == QuantizeMode::Static && q.calibrationSamples < 1)
            throw std::invalid_argument("--calibrate: must be >= 1 sample, got " + std::to_string(q.calibrationSamples));
        if (q.maxDrop >= 1.0)
            throw std::invalid_argument("--max-drop: an accuracy drop as a fraction (0.01 = 1 point), < 1; got "
                                        + number(q.maxDrop));
    }
    if (r.latencyThreads < 1)
        throw std::invalid_argument("--latency-threads: must be >= 1, got " + std::to_string(r.latencyThreads));
    if (r.latencyCalls < 10)
        throw std::invalid_argument("--latency-calls: must be >= 10, got " + std::to_string(r.latencyCalls));
}

std::string randomTag()
{
    std::random_device device;
    std::ostringstream out;
    out << std::hex << device() << device();
    return out.str();
}

// A model file written before its run exists: in the store's folder under a name of its own,
// renamed to the run's once the run is recorded; removed if it never is.
class PendingFile {
public:
    PendingFile(const std::string& databasePath, const std::string& suffix)
        : m_path(modelPathFor(databasePath, "pending-" + randomTag(), suffix))
    {
    }
    ~PendingFile()
    {
        if (!m_path.empty()) {
            std::error_code ignored;
            std::filesystem::remove(m_path, ignored);
        }
    }
    PendingFile(const PendingFile&) = delete;
    PendingFile& operator=(const PendingFile&) = delete;
    const std::string& path() const { return m_path; }
    // Moves the file to `target` (same folder: an atomic rename) and stops owning it.
    std::string keepAs(const std::string& target)
    {
        std::filesystem::rename(m_path, target);
        m_path.clear();
        return target;
    }

private:
    std::string m_path;
};

// Holds on to the training module, so that the fine-tuned weights can be read when the run
// is about to finish.
class CaptureModelHook : public detail::TrainHook {
public:
    void afterStep(const detail::StepView& view, detail::TrainRequests&) override
    {
        if (!m_model)
            m_model = view.model;
    }
    std::vector<NamedTensor> weights() const
    {
        if (!m_model)
            throw std::runtime_error("fine-tuning took no step: nothing to measure");
        return detail::weightsOf(*m_model);
    }

private:
    mutable torch::nn::Sequential m_model{nullptr};
};

std::string resultName(const CompressRequest& r, const TrainedWeights& parent)
{
    if (!r.runName.empty())
        return r.runName;
    std::string name = parent.runName + " " + compressMethodName(r.method);
    if (r.method == CompressMethod::PruneUnstructured || r.method == CompressMethod::PruneStructured)
        name += " " + number(r.prune.sparsity);
    return name;
}

TrainInfo resultInfo(const ModelMeasurement& m, const ModelInterface& interface, int threads)
{
    TrainInfo info;
    info.device = "cpu";
    info.threads = threads;
    info.parameters = m.parameters;
    info.interfaceJson = interfaceToJson(interface);
    return info;
}

std::string summaryOf(const CompressResult& r)
{
    std::ostringstream out;
    out.precision(3);
    const ModelMeasurement& m = r.measurement;
    const ModelMeasurement& p = r.parent;
    out << compressMethodName(r.method) << ": run " << r.runId << ", " << m.fileBytes << " bytes";
    if (m.fileBytes > 0)
        out << " (" << double(p.fileBytes) / double(m.fileBytes) << "x smaller)";
    if (m.testAccuracy >= 0 && p.testAccuracy >= 0)
        out << ", test accuracy " << 100.0 * m.testAccuracy << "% (parent " << 100.0 * p.testAccuracy << "%)";
    out << ", batch-64 latency " << m.batch64.medianMs << " ms (parent " << p.batch64.medianMs << " ms)";
    return out.str();
}

} // namespace

namespace {

// The parent as nnlab's own float build of its spec, saved as `export` saves it (float
// safetensors with the experiment and interface) for its size on disk; the file goes with it.
struct FloatParent {
    std::unique_ptr<PendingFile> file;
    MeasurableModel model;
};

FloatParent floatParent(const ExperimentSpec& spec, const std::vector<NamedTensor>& tensors,
                        const ModelInterface& interface, const std::string& databasePath)
{
    const Preparation prepared = prepareExperiment(spec);
    if (!prepared.ok())
        throw std::runtime_error("the experiment no longer validates: " + prepared.errorText());
    torch::nn::Sequential model = detail::buildModel(spec.model, prepared.experiment.model);
    detail::loadWeightsInto(*model, tensors);
    FloatParent out;
    out.file = std::make_unique<PendingFile>(databasePath.empty() ? defaultDatabasePath() : databasePath, ".float.safetensors");
    writeSafetensors(out.file->path(), tensors, {{"experiment", experimentToJson(spec)}, {"interface", interfaceToJson(interface)}});
    out.model = floatModel(spec, model, out.file->path());
    return out;
}

} // namespace

ModelMeasurement measureFloatWeights(const ExperimentSpec& spec, const std::vector<NamedTensor>& tensors,
                                     const ModelInterface& interface, const MeasureData& data,
                                     const MeasureOptions& options, const std::string& databasePath,
                                     const CompressProgressFn& progress, TrainControl* control)
{
    const FloatParent parent = floatParent(spec, tensors, interface, databasePath);
    return measureModel(parent.model, data, options, progress, control);
}

namespace {

CompressResult cancelledResult(const CompressRequest& request, const std::string& parentId)
{
    CompressResult out;
    out.parentId = parentId;
    out.method = request.method;
    out.summary = "cancelled";
    return out;
}

} // namespace

} // namespace compress

CompressResult compressRun(const std::string& runIdOrPrefix, const CompressRequest& asked, TrainControl& control,
                           const CompressProgressFn& progress)
{
    using namespace compress;
    // The method says which pruning it is; PruneOptions::structured follows it.
    CompressRequest request = asked;
    if (request.method == CompressMethod::PruneStructured || request.method == CompressMethod::PruneUnstructured)
        request.prune.structured = request.method == CompressMethod::PruneStructured;
    validateRequest(request);
    auto report = [&](const std::string& stage, int64_t done = 0, int64_t total = 0) {
        if (progress)
            progress({stage, done, total});
    };
    const std::string db = request.databasePath.empty() ? defaultDatabasePath() : request.databasePath;

    report("loading the parent");
    StoreOptions readOnly;
    readOnly.readOnly = true;
    auto store = RunStore::open(db, readOnly);
    if (!store.ok())
        throw std::runtime_error(store.error.message);
    const TrainedWeights parent = loadTrainedWeights(*store.value, runIdOrPrefix, CheckpointChoice::Best);
    store.value.reset();

    report("loading " + parent.spec.data.source);
    const MeasureData data = loadMeasureData(parent.spec);
    MeasureOptions timing;
    timing.threads = request.latencyThreads;
    timing.calls = request.latencyCalls;
    auto stageProgress = [&](const std::string& prefix) {
        return [&, prefix](const CompressProgress& p) { report(prefix + p.stage, p.done, p.total); };
    };

    CompressResult result;
    result.parentId = parent.runId;
    result.method = request.method;
    const FloatParent parentModel = floatParent(parent.spec, parent.tensors, parent.interface, db);
    // Parent and result measured together, their timed calls interleaved (measure.h).
    auto measureBoth = [&](const MeasurableModel& model, TrainControl* control) {
        std::vector<ModelMeasurement> both = measureModels({&parentModel.model, &model}, data, timing,
                                                           stageProgress("measuring: "), control);
        result.parent = std::move(both[0]);
        result.measurement = std::move(both[1]);
    };

    MethodContext context{parent, data, request, db, control, progress};
    Compressed compressed = (request.method == CompressMethod::QuantizeStatic || request.method == CompressMethod::QuantizeDynamic)
                                ? quantizeParent(context)
                                : pruneParent(context);
    if (control.isCancelled())
        return cancelledResult(request, parent.runId);

    RunStartInfo start;
    start.name = resultName(request, parent);
    start.parentId = parent.runId;
    start.torchVersion = torchVersion();

    if (compressed.finetune) {
        // The fine-tuning run is the result: it trains from the compressed weights (masks held
        // by the method's hook), and its end adds the measurement and the model file.
        ExperimentSpec spec = compressed.spec;
        spec.training.epochs = compressed.finetuneEpochs;
        spec.training.workers = 1;   // the mask hook runs in this process only: no data-parallel fine-tuning
        const Preparation prepared = prepareExperiment(spec);
        if (!prepared.ok())
            throw std::runtime_error("the compressed model's experiment does not validate: " + prepared.errorText());
        PendingFile init(db, ".init.safetensors");
        writeSafetensors(init.path(), compressed.weights, {});
        RunSessionOptions options;
        options.databasePath = db;
        options.runName = start.name;
        options.parentId = parent.runId;
        options.initWeights = init.path();
        auto capture = std::make_shared<CaptureModelHook>();
        RunSessionHooks hooks;
        hooks.trainHooks = compressed.trainHooks;
        hooks.trainHooks.push_back(capture);
        hooks.stage = [&](const std::string& stage) { report("fine-tuning: " + stage); };
        hooks.callbacks.progress = [&](const Progress& p) { report("fine-tuning", p.step, p.totalSteps); };
        hooks.beforeFinish = [&](RunRecorder& recorder, const std::string& runId, TrainResult&) {
            Compressed done = compressed.finish(capture->weights());
            PendingFile file(db, done.suffix);
            done.save(file.path());
            measureBoth(done.measurable(file.path()), nullptr);
            result.modelPath = file.keepAs(modelPathFor(db, runId, done.suffix));
            ResultRecord record{request.method, done.options, result.measurement, result.parent, result.modelPath, parent.runId};
            addResult(recorder, runId, record);
        };
        const RunSessionResult session = runTrainingSession(prepared.experiment, control, options, hooks);
        result.runId = session.runId;
        if (session.result.status == TrainStatus::Cancelled) {
            result.summary = "cancelled: fine-tuning run " + session.runId + " recorded as cancelled";
            return result;
        }
        if (session.result.status != TrainStatus::Finished || !session.storeError.empty())
            throw std::runtime_error("fine-tuning failed: " + (session.storeError.empty() ? session.result.message : session.storeError));
        result.summary = summaryOf(result);
        return result;
    }

    PendingFile file(db, compressed.suffix);
    compressed.save(file.path());
    measureBoth(compressed.measurable(file.path()), &control);
    if (control.isCancelled())
        return cancelledResult(request, parent.runId);

    report("recording");
    auto recorder = RunRecorder::open(db);
    if (!recorder.ok())
        throw std::runtime_error(recorder.error.message);
    RunRecorder& rec = *recorder.value;
    const auto id = rec.begin(compressed.spec, experimentToJson(compressed.spec), start);
    if (!id.ok())
        throw std::runtime_error(id.error.message);
    result.runId = id.value;
    TrainResult end;
    try {
        rec.updateInfo(resultInfo(result.measurement, parent.interface, request.latencyThreads));
        result.modelPath = file.keepAs(modelPathFor(db, id.value, compressed.suffix));
        addResult(rec, id.value, {request.method, compressed.options, result.measurement, result.parent, result.modelPath, parent.runId});
        end.status = TrainStatus::Finished;
    } catch (const std::exception& e) {
        end.status = TrainStatus::Failed;
        end.message = e.what();
        rec.finish(end);
        throw;
    }
    const StoreError finished = rec.finish(end);
    if (!finished.ok())
        throw std::runtime_error("run store: " + finished.message);
    result.summary = summaryOf(result);
    report("done", 1, 1);
    return result;
}

} // namespace nnlab
