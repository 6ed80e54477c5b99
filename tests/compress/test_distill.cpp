// Knowledge distillation (nnlab/distill.h): the loss against a hand computation, alpha = 0 is
// plain cross-entropy training, a student that does not fit the teacher is refused naming
// both sizes, and a distilled run is recorded under its teacher with its parts as curves and
// keeps distilling when resumed.
#include "nnlab/distill.h"
#include "nnlab/store.h"

#include "../engine/train_test_util.h"
#include "train_hooks.h"

#include <QTemporaryDir>
#include <QtTest>

#include <cmath>

using namespace nnlab;

namespace {

ExperimentSpec teacherSpec()
{
    ExperimentSpec spec = test::spiralSpec();
    spec.name = "spiral-teacher";
    spec.training.epochs = 4;
    spec.training.threads = 1;
    spec.training.logEverySteps = 10;
    return spec;
}

// A narrower student on the same data, trained for a short while.
ExperimentSpec studentSpec()
{
    ExperimentSpec spec = test::spiralSpec();
    spec.name = "spiral-student";
    spec.seed = 3;
    spec.model.layers.at(0).options["out_features"] = 16;
    spec.model.layers.at(2).options["out_features"] = 16;
    spec.training.epochs = 2;
    spec.training.threads = 1;
    spec.training.logEverySteps = 10;
    return spec;
}

double finalValue(const RunSessionResult& run, const std::string& tag)
{
    const auto it = run.result.finalMetrics.find(tag);
    if (it == run.result.finalMetrics.end())
        qFatal("no final %s", tag.c_str());
    return it->second;
}

// log(sum(exp(z))) by hand, stable enough for the small logits used here.
double logSumExp(const std::vector<double>& z)
{
    double s = 0.0;
    for (double v : z)
        s += std::exp(v);
    return std::log(s);
}

// Cancels the run once it has taken `step` steps (the trainer looks before the next one).
class CancelAt : public nnlab::detail::TrainHook {
public:
    CancelAt(TrainControl& control, int64_t step) : m_control(control), m_step(step) {}
    void afterStep(const nnlab::detail::StepView& view, nnlab::detail::TrainRequests&) override
    {
        if (view.state.step >= m_step)
            m_control.cancel();
    }

private:
    TrainControl& m_control;
    int64_t m_step;
};

} // namespace

class TestDistill : public QObject {
    Q_OBJECT

    QTemporaryDir m_dir;
    std::string m_db;
    std::string m_teacher;

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY(m_dir.isValid());
        m_db = m_dir.filePath("runs.db").toStdString();
        TrainControl control;
        RunSessionOptions options;
        options.databasePath = m_db;
        const RunSessionResult run = runTrainingSession(test::prepared(teacherSpec()), control, options);
        QCOMPARE(int(run.result.status), int(TrainStatus::Finished));
        m_teacher = run.runId;
    }

    void lossMatchesAHandComputation()
    {
        // Two samples, three classes.
        const std::vector<double> s[2] = {{1.0, 2.0, 0.5}, {-1.0, 0.0, 3.0}};
        const std::vector<double> t[2] = {{0.2, 3.0, -1.0}, {2.0, 0.5, 1.0}};
        const std::vector<int64_t> labels{1, 2};
        const double alpha = 0.7, T = 4.0;
        double kl = 0.0, ce = 0.0;
        for (int i = 0; i < 2; ++i) {
            std::vector<double> sT, tT;
            for (int c = 0; c < 3; ++c) {
                sT.push_back(s[i][c] / T);
                tT.push_back(t[i][c] / T);
            }
            const double ls = logSumExp(sT), lt = logSumExp(tT);
            for (int c = 0; c < 3; ++c) {
                const double logPt = tT[c] - lt, logPs = sT[c] - ls;
                kl += std::exp(logPt) * (logPt - logPs);
            }
            ce += logSumExp(s[i]) - s[i][labels[i]];
        }
        kl /= 2;
        ce /= 2;
        const double expected = alpha * T * T * kl + (1 - alpha) * ce;

        std::vector<float> sf, tf;
        for (int i = 0; i < 2; ++i)
            for (int c = 0; c < 3; ++c) {
                sf.push_back(float(s[i][c]));
                tf.push_back(float(t[i][c]));
            }
        const DistillLossParts parts = distillationLoss(sf, tf, labels, 3, alpha, T);
        QVERIFY2(std::abs(parts.ce - ce) < 1e-5, qPrintable(QString::number(parts.ce) + " vs " + QString::number(ce)));
        QVERIFY2(std::abs(parts.kd - T * T * kl) < 1e-5, qPrintable(QString::number(parts.kd) + " vs " + QString::number(T * T * kl)));
        QVERIFY(std::abs(parts.loss - expected) < 1e-5);
        QVERIFY(parts.kd > 0.0);   // the distributions differ: the soft term is there

        // The same logits: no soft loss, whatever T.
        const DistillLossParts same = distillationLoss(sf, sf, labels, 3, 0.5, 2.0);
        QVERIFY(std::abs(same.kd) < 1e-6);
        QVERIFY(std::abs(same.loss - 0.5 * same.ce) < 1e-6);
    }

    void optionsAreChecked()
    {
        DistillOptions o;
        o.teacherRun = "x";
        QVERIFY(checkDistillOptions(o).empty());
        o.alpha = 1.5;
        QVERIFY(QString::fromStdString(checkDistillOptions(o)).contains("--alpha"));
        o.alpha = 0.5;
        o.temperature = 0.0;
        QVERIFY(QString::fromStdString(checkDistillOptions(o)).contains("--temperature"));
        TrainControl control;
        RunSessionOptions session;
        session.databasePath = m_db;
        const RunSessionResult run = distillSession(test::prepared(studentSpec()), o, control, session);
        QCOMPARE(int(run.result.status), int(TrainStatus::Failed));
        QVERIFY(run.runId.empty());

        o.temperature = 4.0;
        o.teacherRun = "nosuchrun";
        const RunSessionResult missing = distillSession(test::prepared(studentSpec()), o, control, session);
        QCOMPARE(int(missing.result.status), int(TrainStatus::Failed));
        QVERIFY2(QString::fromStdString(missing.result.message).contains("nosuchrun"), missing.result.message.c_str());
    }

    void alphaZeroIsPlainCrossEntropyTraining()
    {
        TrainControl control;
        RunSessionOptions session;
        session.store = false;
        session.databasePath = m_db;   // where the teacher is
        const PreparedExperiment student = test::prepared(studentSpec());
        const RunSessionResult plain = runTrainingSession(student, control, session);
        QCOMPARE(int(plain.result.status), int(TrainStatus::Finished));

        DistillOptions options;
        options.teacherRun = m_teacher;
        options.alpha = 0.0;
        const RunSessionResult zero = distillSession(student, options, control, session);
        QCOMPARE(int(zero.result.status), int(TrainStatus::Finished));
        for (const char* tag : {"train/loss", "val/loss", "val/accuracy"})
            QVERIFY2(std::abs(finalValue(plain, tag) - finalValue(zero, tag)) < 1e-6,
                     qPrintable(QString("%1: %2 vs %3").arg(tag).arg(finalValue(plain, tag)).arg(finalValue(zero, tag))));

        options.alpha = 0.7;   // and the teacher does change training when it has weight
        const RunSessionResult soft = distillSession(student, options, control, session);
        QCOMPARE(int(soft.result.status), int(TrainStatus::Finished));
        QVERIFY(std::abs(finalValue(plain, "val/loss") - finalValue(soft, "val/loss")) > 1e-4);
    }

    void aStudentThatDoesNotFitIsRefused()
    {
        TrainControl control;
        RunSessionOptions session;
        session.databasePath = m_db;
        DistillOptions options;
        options.teacherRun = m_teacher;

        ExperimentSpec wide = studentSpec();   // four classes: the spiral with one more arm
        wide.data.classes = 4;
        wide.model.layers.back().options["out_features"] = 4;
        const RunSessionResult refused = distillSession(test::prepared(wide), options, control, session);
        QCOMPARE(int(refused.result.status), int(TrainStatus::Failed));
        QVERIFY(refused.runId.empty());   // refused before anything is recorded
        const QString expected = "the student has 4 outputs, the teacher (run " + QString::fromStdString(m_teacher) + ") 3";
        QVERIFY2(QString::fromStdString(refused.result.message).contains(expected), refused.result.message.c_str());

        // Its width left to the data: found once the data is loaded, with the same words.
        wide.model.layers.back().options["out_features"] = 0;
        const RunSessionResult late = distillSession(test::prepared(wide), options, control, session);
        QCOMPARE(int(late.result.status), int(TrainStatus::Failed));
        QVERIFY2(QString::fromStdString(late.result.message).contains(expected), late.result.message.c_str());

        ExperimentSpec other = studentSpec();   // another input
        other.model.input = {3};
        other.data.source = "blobs";
        other.data.classes = 3;
        const Preparation p = prepareExperiment(other);
        if (p.ok()) {
            const RunSessionResult input = distillSession(p.experiment, options, control, session);
            QCOMPARE(int(input.result.status), int(TrainStatus::Failed));
            QVERIFY2(QString::fromStdString(input.result.message).contains("inputs of shape [3]"), input.result.message.c_str());
        }
    }

    void aDistilledRunIsRecordedUnderItsTeacherAndResumes()
    {
        RunSessionOptions session;
        session.databasePath = m_db;
        DistillOptions options;
        options.teacherRun = m_teacher.substr(0, 12);   // a prefix will do
        options.alpha = 0.6;
        options.temperature = 3.0;
        options.latencyCalls = 10;

        // Cancelled half-way (a checkpoint is written at the cancel), then resumed.
        TrainControl control;
        RunSessionHooks hooks;
        hooks.trainHooks.push_back(std::make_shared<CancelAt>(control, 60));
        const RunSessionResult first = distillSession(test::prepared(studentSpec()), options, control, session, hooks);
        QCOMPARE(int(first.result.status), int(TrainStatus::Cancelled));
        QVERIFY(!first.runId.empty());

        TrainControl again;
        const RunSessionResult resumed = resumeDistillSession(first.runId, again, session);
        QVERIFY2(resumed.result.status == TrainStatus::Finished, resumed.result.message.c_str());
        QCOMPARE(resumed.runId, first.runId);

        auto store = RunStore::open(m_db);
        QVERIFY(store.ok());
        const auto run = store.value->getRun(first.runId);
        QVERIFY(run.ok());
        QCOMPARE(run.value.parentId, m_teacher);
        QCOMPARE(int(run.value.status), int(RunStatus::Finished));
        QVERIFY(std::find(run.value.tags.begin(), run.value.tags.end(), "distill") != run.value.tags.end());
        QVERIFY(QString::fromStdString(run.value.notes).contains(QString::fromStdString(m_teacher)));

        const auto recorded = distillOptionsOf(*store.value, first.runId);
        QVERIFY(recorded.has_value());
        QCOMPARE(recorded->teacherRun, m_teacher);
        QCOMPARE(recorded->alpha, 0.6);
        QCOMPARE(recorded->temperature, 3.0);
        QVERIFY(!distillOptionsOf(*store.value, m_teacher).has_value());

        // Measured with its teacher at the end, as compression results are (compress.h).
        const auto summary = store.value->getRun(first.runId).value.metrics;
        for (const char* tag : {"compress/validation_accuracy", "compress/file_bytes", "compress/parameters",
                                "parent/validation_accuracy", "parent/parameters", "compress/latency_b1_ms"})
            QVERIFY2(summary.count(tag), tag);
        // The final weights: the accuracy the run's last evaluation reported.
        QVERIFY(std::abs(summary.at("compress/validation_accuracy").finalValue - summary.at("val/accuracy").finalValue) < 1e-6);
        QVERIFY(summary.at("compress/parameters").finalValue < summary.at("parent/parameters").finalValue);
        const auto artifacts = store.value->artifacts(first.runId);
        QVERIFY(artifacts.ok());
        QVERIFY(std::any_of(artifacts.value.begin(), artifacts.value.end(), [](const RunArtifact& a) { return a.kind == "model"; }));

        // train/loss is the distillation loss: alpha x kd + (1 - alpha) x ce at every logged
        // step, also after the resume.
        const auto loss = store.value->series(first.runId, "train/loss");
        const auto kd = store.value->series(first.runId, "train/kd");
        const auto ce = store.value->series(first.runId, "train/ce");
        QVERIFY(loss.ok() && kd.ok() && ce.ok());
        QVERIFY(loss.value.size() >= 5);
        QCOMPARE(kd.value.size(), loss.value.size());
        QCOMPARE(ce.value.size(), loss.value.size());
        QVERIFY(kd.value.back().step > 60);
        for (size_t i = 0; i < loss.value.size(); ++i) {
            QCOMPARE(kd.value[i].step, loss.value[i].step);
            const double expected = 0.6 * kd.value[i].value + 0.4 * ce.value[i].value;
            QVERIFY2(std::abs(loss.value[i].value - expected) < 1e-4 * std::max(1.0, expected),
                     qPrintable(QString("step %1: %2 vs %3").arg(loss.value[i].step).arg(loss.value[i].value).arg(expected)));
        }
    }
};

QTEST_APPLESS_MAIN(TestDistill)
#include "test_distill.moc"
