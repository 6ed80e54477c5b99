#include "compress/compress_job.h"

#include "compress/compare_rows.h"

#include "nnlab/experiment.h"
#include "nnlab/run_session.h"
#include "nnlab/spec_json.h"

#include <QCoreApplication>

#include <stdexcept>

namespace {
QString tr(const char* text, const char* disambiguation = nullptr, int n = -1)
{
    return QCoreApplication::translate("CompressJob", text, disambiguation, n);
}
}

QString CompressJob::description() const
{
    if (kind == Kind::Distill)
        return tr("distill %1 (alpha %2, T %3)")
            .arg(studentFile.section(QLatin1Char('/'), -1))
            .arg(distill.alpha)
            .arg(distill.temperature);
    QString text;
    switch (request.method) {
    case nnlab::CompressMethod::PruneUnstructured:
    case nnlab::CompressMethod::PruneStructured: {
        const nnlab::PruneOptions& p = request.prune;
        text = tr("prune %1%").arg(100.0 * p.sparsity, 0, 'g', 3);
        if (p.structured)
            text += tr(" structured (%1)").arg(p.norm == nnlab::PruneNorm::L1 ? QStringLiteral("L1") : QStringLiteral("L2"));
        else if (p.global)
            text += tr(" global");
        if (p.finetuneEpochs > 0)
            text += p.finetuneEpochs == 1 ? tr(", 1 fine-tuning epoch")
                                          : tr(", %1 fine-tuning epochs").arg(p.finetuneEpochs);
        if (p.schedule == nnlab::PruneSchedule::Agp)
            text += tr(", AGP");
        break;
    }
    case nnlab::CompressMethod::QuantizeStatic:
    case nnlab::CompressMethod::QuantizeDynamic: {
        const nnlab::QuantizeOptions& q = request.quantize;
        text = compresslab::methodLabel(request.method);
        if (q.perChannel)
            text += tr(", per channel");
        if (request.method == nnlab::CompressMethod::QuantizeStatic)
            text += tr(", %1 calibration samples").arg(q.calibrationSamples);
        if (q.maxDrop >= 0)
            text += tr(", max drop %1 points").arg(100.0 * q.maxDrop, 0, 'g', 3);
        break;
    }
    default:
        text = compresslab::methodLabel(request.method);
    }
    return text;
}

TaskBody compressJobBody(const CompressJob& job)
{
    if (job.kind == CompressJob::Kind::Compress) {
        return [job](nnlab::TrainControl& control, const TaskProgressFn& progress) {
            nnlab::CompressRequest request = job.request;
            request.databasePath = job.databasePath.toStdString();
            if (!job.runName.isEmpty())
                request.runName = job.runName.toStdString();
            const nnlab::CompressResult result = nnlab::compressRun(
                job.sourceRunId.toStdString(), request, control,
                [&progress](const nnlab::CompressProgress& p) { progress(p.stage, p.done, p.total); });
            return QVariant::fromValue(
                CompressJobOutcome{QString::fromStdString(result.runId), QString::fromStdString(result.summary)});
        };
    }
    return [job](nnlab::TrainControl& control, const TaskProgressFn& progress) {
        progress("reading the student", 0, 0);
        const nnlab::ParseResult parsed = nnlab::loadExperimentFile(job.studentFile.toStdString());
        if (!parsed.complete)
            throw std::runtime_error(job.studentFile.toStdString() + ": " + parsed.errorText());
        const nnlab::Preparation prepared = nnlab::prepareExperiment(parsed);
        if (!prepared.ok())
            throw std::runtime_error(job.studentFile.toStdString() + ": " + prepared.errorText());
        nnlab::DistillOptions options = job.distill;
        options.teacherRun = job.sourceRunId.toStdString();
        nnlab::RunSessionOptions session;
        session.databasePath = job.databasePath.toStdString();
        session.runName = job.runName.toStdString();
        nnlab::RunSessionHooks hooks;
        hooks.stage = [&progress](const std::string& stage) { progress(stage, 0, 0); };
        hooks.callbacks.progress = [&progress](const nnlab::Progress& p) {
            progress("training the student", p.step, p.totalSteps);
        };
        const nnlab::RunSessionResult session_ = nnlab::distillSession(prepared.experiment, options, control, session, hooks);
        if (session_.result.status == nnlab::TrainStatus::Failed)
            throw std::runtime_error(session_.result.message.empty() ? session_.storeError : session_.result.message);
        QString summary = tr("distilled student, run %1").arg(QString::fromStdString(session_.runId));
        if (session_.result.status == nnlab::TrainStatus::Cancelled)
            control.cancel();   // a student stopped early: the task reports it as cancelled
        return QVariant::fromValue(CompressJobOutcome{QString::fromStdString(session_.runId), summary});
    };
}
