// The training-loop side of distillation (nnlab/distill.h): the teacher network, the loss
// that replaces the student's cross-entropy, and its parts as metrics.
#pragma once

#include "train_hooks.h"

#include "nnlab/distill.h"
#include "nnlab/model_interface.h"
#include "nnlab/trained_model.h"

#include <torch/torch.h>

#include <memory>
#include <string>

namespace nnlab::detail {

// loss = alpha x kd + (1 - alpha) x ce, kd = T^2 x mean over the batch of
// KL(softmax(teacher / T) || softmax(student / T)); `ce` is the experiment's loss.
struct DistillTerms {
    torch::Tensor loss, kd;
};
DistillTerms distillTerms(const torch::Tensor& student, const torch::Tensor& teacher, const torch::Tensor& ce,
                          double alpha, double temperature);

// A stored run's network in evaluation mode, without gradients, and what it was trained on.
struct Teacher {
    TrainedWeights weights;
    torch::nn::Sequential model;
};
// Throws std::runtime_error naming the run: no such run, no checkpoint, not a classifier.
std::shared_ptr<Teacher> loadTeacher(const RunStore& store, const std::string& runIdOrPrefix);

class DistillHook : public TrainHook {
public:
    DistillHook(std::shared_ptr<Teacher> teacher, const DistillOptions& options);
    // The student's data interface (TrainInfo::interfaceJson, known once the data is loaded):
    // its input shape, outputs and normalization. Call before the loop starts.
    void setStudentInterface(const ModelInterface& student);

    void started(const TrainState&) override;   // throws when the student does not fit
    torch::Tensor lossFor(const LossView& view) override;
    void metricReported(const TrainState& state, const MetricPoint& point, TrainRequests&) override;
    void rolledBack(const TrainState&, const std::string&) override { resetWindow(); }
    void afterStep(const StepView& view, TrainRequests&) override
    {
        if (!m_model)
            m_model = view.model;
    }

    // For the measurement at the end: the student as trained, and the teacher.
    std::vector<NamedTensor> studentWeights() const;
    const ModelInterface& studentInterface() const { return m_student; }
    const Teacher& teacher() const { return *m_teacher; }

private:
    void resetWindow();
    torch::Tensor teacherInput(const torch::Tensor& studentInput) const;

    std::shared_ptr<Teacher> m_teacher;
    DistillOptions m_options;
    ModelInterface m_student;
    bool m_haveStudent = false;
    torch::Tensor m_inputScale, m_inputShift;   // student-normalized -> teacher-normalized; undefined = same
    bool m_announced = false;
    bool m_onDevice = false;
    Reporter* m_report = nullptr;               // the loop's, seen at lossFor
    torch::Tensor m_kdSum, m_ceSum;             // over the samples since the last train/loss point
    int64_t m_samples = 0;
    mutable torch::nn::Sequential m_model{nullptr};   // the student, seen at its first step
};

// The student of `shape` and `outputs` against the teacher: "" when they fit, else the
// problem naming both sizes.
std::string studentFitProblem(const TeacherInfo& teacher, const std::vector<int64_t>& shape, int64_t outputs);
TeacherInfo teacherInfoOf(const Teacher& teacher);

// The note on the run's timeline (and the line in its notes) that records the settings, so a
// resume keeps distilling: "distilling from <id>: alpha <a>, temperature <T>".
std::string distillNote(const std::string& teacherId, const DistillOptions& options);
bool parseDistillNote(const std::string& text, DistillOptions& options);

} // namespace nnlab::detail
