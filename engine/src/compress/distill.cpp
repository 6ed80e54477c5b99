// Distillation sessions: the teacher loaded and checked, the student trained and recorded by
// runTrainingSession with the distillation hook (distill_hook.h) in its loop.
#include "nnlab/distill.h"

#include "builder.h"
#include "compress_methods.h"
#include "compress_record.h"
#include "distill_hook.h"
#include "measure.h"
#include "weights_io.h"

#include "nnlab/model_info.h"
#include "nnlab/run_recorder.h"
#include "nnlab/safetensors.h"
#include "nnlab/spec_json.h"

#include "nnlab/runtime.h"
#include "nnlab/store.h"

#include <cmath>
#include <memory>
#include <sstream>
#include <stdexcept>

namespace nnlab {

std::string checkDistillOptions(const DistillOptions& options)
{
    std::ostringstream out;
    if (options.teacherRun.empty())
        out << "--teacher: no teacher run given\n";
    if (!std::isfinite(options.alpha) || options.alpha < 0.0 || options.alpha > 1.0)
        out << "--alpha: must be in [0, 1], got " << options.alpha << "\n";
    if (!std::isfinite(options.temperature) || options.temperature <= 0.0)
        out << "--temperature: must be > 0, got " << options.temperature << "\n";
    std::string text = out.str();
    if (!text.empty())
        text.pop_back();
    return text;
}

TeacherInfo describeTeacher(const RunStore& store, const std::string& runIdOrPrefix)
{
    return detail::teacherInfoOf(*detail::loadTeacher(store, runIdOrPrefix));
}

std::string checkStudentFits(const TeacherInfo& teacher, const PreparedExperiment& student)
{
    // What the student leaves to the data (its input, its width) is checked once it is loaded.
    int64_t outputs = 0;
    if (student.model.shapesKnown && !student.model.outputShape.empty())
        outputs = student.model.outputShape.back();
    return detail::studentFitProblem(teacher, student.spec.model.input, outputs);
}

namespace {

std::string databaseOf(const RunSessionOptions& session)
{
    return session.databasePath.empty() ? defaultDatabasePath() : session.databasePath;
}

RunSessionResult failed(const std::string& message)
{
    RunSessionResult out;
    out.result.status = TrainStatus::Failed;
    out.result.message = message;
    return out;
}

std::unique_ptr<RunStore> openStore(const RunSessionOptions& session, std::string& error)
{
    StoreOptions readOnly;
    readOnly.readOnly = true;
    auto opened = RunStore::open(databaseOf(session), readOnly);
    if (!opened.ok()) {
        error = "run store " + databaseOf(session) + ": " + opened.error.message;
        return nullptr;
    }
    return std::move(opened.value);
}

// The finished student and its teacher measured as compressRun measures a result and its
// parent, each on its own data (normalized as it was trained; the test split is the same),
// and recorded on the student's run (compress_record.h).
void recordMeasurement(RunRecorder& recorder, const std::string& runId, const detail::DistillHook& hook,
                       const ExperimentSpec& recordedSpec, const DistillOptions& options)
{
    using namespace compress;
    const ModelInterface& interface = hook.studentInterface();
    const ExperimentSpec spec = completeFromData(recordedSpec, interface.sampleShape, interface.outputs, 0);
    const std::vector<NamedTensor> weights = hook.studentWeights();
    MeasureOptions timing;
    timing.threads = options.latencyThreads;
    timing.calls = options.latencyCalls;

    ResultRecord record;
    record.method = CompressMethod::Distill;
    record.parentId = hook.teacher().weights.runId;
    record.options = {{"teacher", record.parentId}, {"alpha", options.alpha}, {"temperature", options.temperature}};
    const TrainedWeights& teacher = hook.teacher().weights;
    record.parent = measureFloatWeights(teacher.spec, teacher.tensors, teacher.interface, loadMeasureData(teacher.spec),
                                        timing, recorder.path());
    // The student's model file: the float weights as `export` writes them.
    record.modelPath = modelPathFor(recorder.path(), runId, ".safetensors");
    writeSafetensors(record.modelPath, weights, {{"experiment", experimentToJson(spec)}, {"interface", interfaceToJson(interface)}});
    const Preparation prepared = prepareExperiment(spec);
    if (!prepared.ok())
        throw std::runtime_error("the student's experiment no longer validates: " + prepared.errorText());
    torch::nn::Sequential model = detail::buildModel(spec.model, prepared.experiment.model);
    detail::loadWeightsInto(*model, weights);
    record.measurement = measureModel(floatModel(spec, model, record.modelPath), loadMeasureData(spec), timing);
    addResult(recorder, runId, record);
}

// The user's hooks plus the distillation hook, which learns the student's data interface
// from the trainer's `started` report (before the first step), and the measurement at the end.
RunSessionHooks withDistillation(const RunSessionHooks& hooks, const std::shared_ptr<detail::DistillHook>& hook,
                                 const DistillOptions& options)
{
    RunSessionHooks out = hooks;
    out.trainHooks.push_back(hook);
    const auto userStarted = hooks.callbacks.started;
    out.callbacks.started = [hook, userStarted](const TrainInfo& info) {
        hook->setStudentInterface(interfaceFromJson(info.interfaceJson));
        if (userStarted)
            userStarted(info);
    };
    if (!options.measure)
        return out;
    auto spec = std::make_shared<ExperimentSpec>();
    const auto userRecorded = hooks.recorded;
    out.recorded = [spec, userRecorded](const std::string& runId, const ExperimentSpec& recorded) {
        *spec = recorded;
        if (userRecorded)
            userRecorded(runId, recorded);
    };
    const auto userBeforeFinish = hooks.beforeFinish;
    out.beforeFinish = [hook, spec, options, userBeforeFinish](RunRecorder& recorder, const std::string& runId, TrainResult& result) {
        recordMeasurement(recorder, runId, *hook, *spec, options);
        if (userBeforeFinish)
            userBeforeFinish(recorder, runId, result);
    };
    return out;
}

} // namespace

RunSessionResult distillSession(const PreparedExperiment& student, const DistillOptions& options,
                                TrainControl& control, const RunSessionOptions& session, const RunSessionHooks& hooks)
{
    if (const std::string problems = checkDistillOptions(options); !problems.empty())
        return failed(problems);
    if (student.spec.training.workers > 1)
        return failed("training.workers: a distilled student trains in one process (got "
                      + std::to_string(student.spec.training.workers) + " workers)");
    if (!student.spec.isClassification())
        return failed("loss: a distilled student must be a classifier (cross_entropy), got " + student.spec.loss);
    std::shared_ptr<detail::Teacher> teacher;
    try {
        std::string error;
        const auto store = openStore(session, error);
        if (!store)
            return failed(error);
        teacher = detail::loadTeacher(*store, options.teacherRun);
    } catch (const std::exception& e) {
        return failed(e.what());
    }
    if (const std::string problem = checkStudentFits(detail::teacherInfoOf(*teacher), student); !problem.empty())
        return failed(problem);

    DistillOptions resolved = options;
    resolved.teacherRun = teacher->weights.runId;
    RunSessionOptions s = session;
    s.parentId = teacher->weights.runId;
    const std::string note = "Distilled from " + teacher->weights.runName + " (" + detail::distillNote(resolved.teacherRun, resolved) + ").";
    s.notes = s.notes.empty() ? note : s.notes + "\n" + note;
    s.tags.push_back("distill");
    if (s.runName.empty())
        s.runName = student.spec.name + " distilled";
    auto hook = std::make_shared<detail::DistillHook>(teacher, resolved);
    return runTrainingSession(student, control, s, withDistillation(hooks, hook, resolved));
}

std::optional<DistillOptions> distillOptionsOf(const RunStore& store, const std::string& runId)
{
    const auto run = store.getRun(runId);
    if (!run.ok() || run.value.parentId.empty())
        return std::nullopt;
    DistillOptions options;
    // The timeline's note cannot be edited; the notes' line is there from the start (a run
    // killed before its first flush has no note yet).
    if (const auto events = store.events(run.value.id); events.ok())
        for (const RunEvent& e : events.value)
            if (e.kind == EventKind::Note && detail::parseDistillNote(e.detail, options))
                return options;
    if (detail::parseDistillNote(run.value.notes, options))
        return options;
    return std::nullopt;
}

RunSessionResult resumeDistillSession(const std::string& runId, TrainControl& control,
                                      const RunSessionOptions& session, const RunSessionHooks& hooks)
{
    std::optional<DistillOptions> options;
    std::shared_ptr<detail::Teacher> teacher;
    try {
        std::string error;
        const auto store = openStore(session, error);
        if (!store)   // the plain resume reports the store's problem in its own words
            return resumeTrainingSession(runId, control, session, hooks);
        const auto id = store->resolveRunId(runId);
        if (id.ok())
            options = distillOptionsOf(*store, id.value);
        if (!options)
            return resumeTrainingSession(runId, control, session, hooks);
        teacher = detail::loadTeacher(*store, options->teacherRun);
    } catch (const std::exception& e) {
        if (!options)
            return failed(e.what());
        return failed("run " + runId + " was distilled from run " + options->teacherRun
                      + ", which cannot be loaded to continue: " + e.what());
    }
    auto hook = std::make_shared<detail::DistillHook>(teacher, *options);
    DistillOptions resumed = *options;   // the recorded settings, this call's measurement choice
    return resumeTrainingSession(runId, control, session, withDistillation(hooks, hook, resumed));
}

DistillLossParts distillationLoss(const std::vector<float>& studentLogits, const std::vector<float>& teacherLogits,
                                  const std::vector<int64_t>& labels, int64_t classes, double alpha, double temperature)
{
    const int64_t count = int64_t(labels.size());
    if (classes <= 0 || int64_t(studentLogits.size()) != count * classes || teacherLogits.size() != studentLogits.size())
        throw std::invalid_argument("distillationLoss: logits must be labels x classes values");
    const torch::Tensor s = torch::tensor(studentLogits).reshape({count, classes});
    const torch::Tensor t = torch::tensor(teacherLogits).reshape({count, classes});
    const torch::Tensor y = torch::tensor(labels, torch::kInt64);
    const torch::Tensor ce = torch::nn::functional::cross_entropy(s, y);
    const detail::DistillTerms terms = detail::distillTerms(s, t, ce, alpha, temperature);
    return {terms.loss.item<double>(), terms.kd.item<double>(), ce.item<double>()};
}

} // namespace nnlab
