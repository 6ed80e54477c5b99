#include "distill_hook.h"

#include "builder.h"
#include "weights_io.h"

#include "nnlab/experiment.h"

#include <cstdio>
#include <sstream>
#include <stdexcept>

namespace nnlab::detail {

DistillTerms distillTerms(const torch::Tensor& student, const torch::Tensor& teacher, const torch::Tensor& ce,
                          double alpha, double temperature)
{
    const double t = temperature;
    const torch::Tensor logStudent = torch::log_softmax(student / t, 1);
    const torch::Tensor logTeacher = torch::log_softmax(teacher / t, 1);
    // KL(p_t || p_s) = sum p_t (log p_t - log p_s), averaged over the batch; T^2 keeps the
    // soft term's gradients on the scale of the hard one's as T changes (Hinton et al. 2015).
    const torch::Tensor kl = (logTeacher.exp() * (logTeacher - logStudent)).sum(1).mean();
    DistillTerms terms;
    terms.kd = kl * (t * t);
    terms.loss = terms.kd * alpha + ce * (1.0 - alpha);
    return terms;
}

std::shared_ptr<Teacher> loadTeacher(const RunStore& store, const std::string& runIdOrPrefix)
{
    auto teacher = std::make_shared<Teacher>();
    teacher->weights = loadTrainedWeights(store, runIdOrPrefix, CheckpointChoice::Best);
    const ExperimentSpec& spec = teacher->weights.spec;
    if (!spec.isClassification())
        throw std::runtime_error("teacher run " + teacher->weights.runId + " is not a classifier (loss "
                                 + spec.loss + "): distillation needs class scores");
    const Preparation prepared = prepareExperiment(spec);
    if (!prepared.ok())
        throw std::runtime_error("teacher run " + teacher->weights.runId + ": its experiment no longer validates: "
                                 + prepared.errorText());
    teacher->model = buildModel(spec.model, prepared.experiment.model);
    loadWeightsInto(*teacher->model, teacher->weights.tensors);
    teacher->model->eval();
    for (auto& p : teacher->model->parameters())
        p.set_requires_grad(false);
    return teacher;
}

TeacherInfo teacherInfoOf(const Teacher& teacher)
{
    TeacherInfo info;
    info.runId = teacher.weights.runId;
    info.runName = teacher.weights.runName;
    info.sampleShape = teacher.weights.interface.sampleShape;
    if (info.sampleShape.empty())
        info.sampleShape = teacher.weights.spec.model.input;
    info.outputs = teacher.weights.interface.outputs;
    info.classification = teacher.weights.spec.isClassification();
    return info;
}

namespace {

std::string shapeText(const std::vector<int64_t>& shape)
{
    std::string out = "[";
    for (size_t i = 0; i < shape.size(); ++i)
        out += (i ? ", " : "") + std::to_string(shape[i]);
    return out + "]";
}

// Per channel (images) or per feature: shift 0 and scale 1 when the interface has none.
std::vector<float> orDefault(const std::vector<float>& values, size_t n, float fallback)
{
    return values.size() == n ? values : std::vector<float>(n, fallback);
}

} // namespace

std::string studentFitProblem(const TeacherInfo& teacher, const std::vector<int64_t>& shape, int64_t outputs)
{
    const std::string who = "the teacher (run " + teacher.runId + ")";
    if (!shape.empty() && shape != teacher.sampleShape)
        return "the student takes inputs of shape " + shapeText(shape) + ", " + who + " " + shapeText(teacher.sampleShape);
    if (outputs > 0 && outputs != teacher.outputs)
        return "the student has " + std::to_string(outputs) + " outputs, " + who + " " + std::to_string(teacher.outputs);
    return {};
}

DistillHook::DistillHook(std::shared_ptr<Teacher> teacher, const DistillOptions& options)
    : m_teacher(std::move(teacher)), m_options(options)
{
}

void DistillHook::setStudentInterface(const ModelInterface& student)
{
    m_student = student;
    m_haveStudent = true;
}

void DistillHook::started(const TrainState&)
{
    if (!m_haveStudent)
        throw std::logic_error("distillation: the student's data interface was not set");
    const std::string problem = studentFitProblem(teacherInfoOf(*m_teacher), m_student.sampleShape, m_student.outputs);
    if (!problem.empty())
        throw std::runtime_error(problem);
    // The batches come normalized as the student's data is; the teacher wants them as its
    // own training data was (a student on fewer samples gets slightly other statistics).
    const ModelInterface& t = m_teacher->weights.interface;
    const size_t n = m_student.images ? size_t(m_student.sampleShape.at(0)) : size_t(m_student.sampleShape.at(0));
    const std::vector<float> sShift = orDefault(m_student.inputShift, n, 0.f), sScale = orDefault(m_student.inputScale, n, 1.f);
    const std::vector<float> tShift = orDefault(t.inputShift, n, 0.f), tScale = orDefault(t.inputScale, n, 1.f);
    if (sShift == tShift && sScale == tScale) {
        m_inputScale = m_inputShift = torch::Tensor();
    } else {
        // x_t = (x_s * scale_s + shift_s - shift_t) / scale_t
        std::vector<float> a(n), b(n);
        for (size_t i = 0; i < n; ++i) {
            a[i] = sScale[i] / tScale[i];
            b[i] = (sShift[i] - tShift[i]) / tScale[i];
        }
        std::vector<int64_t> shape(m_student.sampleShape.size() + 1, 1);
        shape[1] = int64_t(n);
        m_inputScale = torch::tensor(a).reshape(shape);
        m_inputShift = torch::tensor(b).reshape(shape);
    }
    resetWindow();
}

torch::Tensor DistillHook::teacherInput(const torch::Tensor& studentInput) const
{
    if (!m_inputScale.defined())
        return studentInput;
    return studentInput * m_inputScale.to(studentInput.device()) + m_inputShift.to(studentInput.device());
}

torch::Tensor DistillHook::lossFor(const LossView& view)
{
    m_report = &view.report;
    if (!m_announced) {
        view.report.event(EventKind::Note, view.state.step, distillNote(m_teacher->weights.runId, m_options));
        m_announced = true;
    }
    torch::Tensor teacherLogits;
    {
        torch::NoGradGuard noGrad;
        if (!m_onDevice) {
            m_teacher->model->to(view.input.device());
            m_onDevice = true;
        }
        teacherLogits = m_teacher->model->forward(teacherInput(view.input));
    }
    const DistillTerms terms = distillTerms(view.output, teacherLogits, view.loss, m_options.alpha, m_options.temperature);
    const int64_t n = view.input.size(0);
    if (!m_kdSum.defined()) {
        m_kdSum = torch::zeros({}, view.loss.options());
        m_ceSum = torch::zeros({}, view.loss.options());
    }
    m_kdSum.add_(terms.kd.detach(), n);   // read once per logging window, as the loop's own sums
    m_ceSum.add_(view.loss.detach(), n);
    m_samples += n;
    return terms.loss;
}

// train/kd and train/ce come with each train/loss point, over the same steps.
void DistillHook::metricReported(const TrainState& state, const MetricPoint& point, TrainRequests&)
{
    if (point.tag != "train/loss" || m_samples == 0 || !m_report)
        return;
    const double n = double(m_samples);
    const double kd = m_kdSum.item<double>() / n, ce = m_ceSum.item<double>() / n;
    resetWindow();
    m_report->add("train/kd", state.step, kd);
    m_report->add("train/ce", state.step, ce);
}

std::vector<NamedTensor> DistillHook::studentWeights() const
{
    if (!m_model)
        throw std::runtime_error("distillation took no step: no student to measure");
    return weightsOf(*m_model);
}

void DistillHook::resetWindow()
{
    m_kdSum = m_ceSum = torch::Tensor();
    m_samples = 0;
}

std::string distillNote(const std::string& teacherId, const DistillOptions& options)
{
    char text[64];
    std::snprintf(text, sizeof text, ": alpha %.10g, temperature %.10g", options.alpha, options.temperature);
    return "distilling from " + teacherId + text;
}

bool parseDistillNote(const std::string& text, DistillOptions& options)
{
    const std::string prefix = "distilling from ";
    const size_t at = text.find(prefix);
    if (at == std::string::npos)
        return false;
    const size_t colon = text.find(": alpha ", at);
    if (colon == std::string::npos)
        return false;
    DistillOptions out;
    out.teacherRun = text.substr(at + prefix.size(), colon - at - prefix.size());
    if (std::sscanf(text.c_str() + colon, ": alpha %lf, temperature %lf", &out.alpha, &out.temperature) != 2
        || out.teacherRun.empty())
        return false;
    options = out;
    return true;
}

} // namespace nnlab::detail
