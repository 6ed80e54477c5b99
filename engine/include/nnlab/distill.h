// Knowledge distillation: a stored run is the teacher, any experiment is the student. The
// student trains as any run does (recorded, its curves streaming, resumable) on
//   loss = alpha x T^2 x KL(softmax(teacher / T) || softmax(student / T)) + (1 - alpha) x CE(student, labels)
// with the teacher in evaluation mode, without gradients, its logits computed per batch on
// the same inputs (normalized as the teacher was trained). train/loss is that loss; the two
// parts are recorded too, as train/kd (the KL term, before alpha, after T^2) and train/ce.
//
// The student's run records its teacher as its parent (RunRecord::parentId) and, in its run
// info, "compression": {"method": "distill", "teacher": <id>, "alpha": a, "temperature": T},
// which resumeDistillSession reads back so a resumed student keeps distilling.
#pragma once

#include "nnlab/experiment.h"
#include "nnlab/run_session.h"
#include "nnlab/trainer.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace nnlab {

class RunStore;

struct DistillOptions {
    std::string teacherRun;     // a stored run: an id or a unique prefix (in the session's store)
    double alpha = 0.7;         // weight of the soft (teacher) term, [0, 1]; 0 = plain cross-entropy
    double temperature = 4.0;   // softens both distributions, > 0
    // When the student finishes (recorded): measure it and its teacher as compressRun measures
    // a result and its parent (compress.h: compress/* and parent/* metrics at step 0, the
    // student's model file as artifact "model", a "compression" artifact with method
    // "distill"), so the student stands on the Pareto chart beside its teacher.
    bool measure = true;
    int latencyThreads = 1;     // threads while timing
    int latencyCalls = 50;      // timed calls per batch size, >= 10
};

// Problems with the options alone, one a line naming the option ("--alpha: must be in [0, 1],
// got 1.5"); empty when fine.
std::string checkDistillOptions(const DistillOptions& options);

// What the teacher is, as far as matching a student goes.
struct TeacherInfo {
    std::string runId;
    std::string runName;
    std::vector<int64_t> sampleShape;   // per sample: {F} or {C, H, W}
    int64_t outputs = 0;
    bool classification = true;
};

// Reads the teacher's record (no weights). Throws std::runtime_error naming the run when it
// does not exist, has no checkpoint, or is not a classifier.
TeacherInfo describeTeacher(const RunStore& store, const std::string& runIdOrPrefix);

// Whether `student` can learn from the teacher: the same input shape and the same number of
// outputs. Returns the problem ("the student has 5 outputs, the teacher (run <id>) 10"),
// empty when they fit. A student whose input or width is left to the data ("auto") is
// checked once the data is loaded, inside distillSession, with the same message.
std::string checkStudentFits(const TeacherInfo& teacher, const PreparedExperiment& student);

// Trains and records `student` distilled from options.teacherRun. Never throws (like
// runTrainingSession): bad options, a teacher that cannot be loaded or a student that does
// not fit fail the session with the message in result.message; once the run is recorded
// they are recorded as a failed run. `session.parentId` is set to the teacher's id;
// `session.notes` gets a line naming the teacher, alpha and T. Data-parallel students
// (training.workers > 1) are refused.
RunSessionResult distillSession(const PreparedExperiment& student, const DistillOptions& options,
                                TrainControl& control, const RunSessionOptions& session,
                                const RunSessionHooks& hooks = {});

// The distillation settings a stored run was recorded with; nothing when it is not a
// distilled student.
std::optional<DistillOptions> distillOptionsOf(const RunStore& store, const std::string& runId);

// Continues an interrupted, cancelled or failed distilled run as the same run, still
// distilling from its recorded teacher. A run that is not a distilled student is resumed as
// resumeTrainingSession would (so callers may route every resume here).
RunSessionResult resumeDistillSession(const std::string& runId, TrainControl& control,
                                      const RunSessionOptions& session, const RunSessionHooks& hooks = {});

// The distillation loss of one batch on plain numbers (tests, documentation): logits are
// count x classes, row-major; labels are class indices. Returns {loss, kd, ce}: loss =
// alpha x kd + (1 - alpha) x ce, kd = T^2 x mean over samples of KL(p_teacher || p_student).
struct DistillLossParts {
    double loss = 0.0;
    double kd = 0.0;
    double ce = 0.0;
};
DistillLossParts distillationLoss(const std::vector<float>& studentLogits, const std::vector<float>& teacherLogits,
                                  const std::vector<int64_t>& labels, int64_t classes, double alpha,
                                  double temperature);

} // namespace nnlab
