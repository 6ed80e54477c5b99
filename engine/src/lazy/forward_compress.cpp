// The window's definitions of the LibTorch-backed compression functions (nnlab/compress.h,
// distill.h, sensitivity.h): each waits for the engine module and calls the module's own.
// Names, the Pareto frontier and stored sensitivity results need no LibTorch and are linked
// directly (CMakeLists.txt).
#include "engine_access.h"

namespace nnlab {

CompressResult compressRun(const std::string& runIdOrPrefix, const CompressRequest& request, TrainControl& control,
                           const CompressProgressFn& progress)
{
    return lazy::engine("compressRun").compressRun(runIdOrPrefix, request, control, progress);
}

ModelMeasurement measureRun(const RunStore& store, const std::string& runId, int latencyThreads, int latencyCalls,
                            const CompressProgressFn& progress)
{
    return lazy::engine("measureRun").measureRun(store, runId, latencyThreads, latencyCalls, progress);
}

std::vector<CompareRow> compareRuns(const RunStore& store, const std::vector<std::string>& runIds, bool measureMissing,
                                    const CompressProgressFn& progress)
{
    return lazy::engine("compareRuns").compareRuns(store, runIds, measureMissing, progress);
}

TeacherInfo describeTeacher(const RunStore& store, const std::string& runIdOrPrefix)
{
    return lazy::engine("describeTeacher").describeTeacher(store, runIdOrPrefix);
}

std::string checkStudentFits(const TeacherInfo& teacher, const PreparedExperiment& student)
{
    return lazy::engine("checkStudentFits").checkStudentFits(teacher, student);
}

RunSessionResult distillSession(const PreparedExperiment& student, const DistillOptions& options, TrainControl& control,
                                const RunSessionOptions& session, const RunSessionHooks& hooks)
{
    return lazy::engine("distillSession").distillSession(student, options, control, session, hooks);
}

RunSessionResult resumeDistillSession(const std::string& runId, TrainControl& control, const RunSessionOptions& session,
                                      const RunSessionHooks& hooks)
{
    return lazy::engine("resumeDistillSession").resumeDistillSession(runId, control, session, hooks);
}

SensitivityResult runSensitivity(const std::string& runIdOrPrefix, const SensitivityOptions& options,
                                 TrainControl& control, const SensitivityProgressFn& progress)
{
    return lazy::engine("runSensitivity").runSensitivity(runIdOrPrefix, options, control, progress);
}

} // namespace nnlab
