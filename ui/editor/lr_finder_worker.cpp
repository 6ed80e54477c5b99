#include "editor/lr_finder_worker.h"

#include "nnlab/data.h"
#include "nnlab/experiment.h"
#include "nnlab/runtime.h"

LrFinderWorker::LrFinderWorker(nnlab::ExperimentSpec spec, nnlab::LrFinderOptions options)
    : m_spec(std::move(spec)), m_options(options)
{
}

void LrFinderWorker::run()
{
    try {
        nnlab::prepareProcess();
        const nnlab::Preparation prepared = nnlab::prepareExperiment(m_spec);
        if (!prepared.ok()) {
            emit failed(QString::fromStdString(prepared.errorText()));
            return;
        }
        emit stage(tr("Loading %1…").arg(QString::fromStdString(m_spec.data.source)));
        const nnlab::DataBundle data = nnlab::loadData(m_spec.data, m_spec.isClassification(), m_spec.seed);
        const nnlab::Preparation fitted = nnlab::fitToData(prepared.experiment, data);
        if (!fitted.ok()) {
            emit failed(QString::fromStdString(fitted.errorText()));
            return;
        }
        if (m_control.isCancelled()) {
            emit cancelled();
            return;
        }
        emit stage(tr("Training a copy of the model: %1").arg(QString::fromStdString(data.description)));
        const nnlab::LrFinderResult result = nnlab::findLearningRate(
            fitted.experiment, data, m_control, m_options, [this](const nnlab::LrFinderProgress& p) { emit progress(p); });
        switch (result.status) {
        case nnlab::TrainStatus::Finished:
            emit finished(result);
            return;
        case nnlab::TrainStatus::Cancelled:
            emit cancelled();
            return;
        case nnlab::TrainStatus::Failed:
            emit failed(QString::fromStdString(result.message));
            return;
        }
        emit failed(tr("unknown result"));
    } catch (const std::exception& e) {
        emit failed(QString::fromUtf8(e.what()));
    } catch (...) {
        emit failed(tr("unexpected error in the learning-rate finder's thread"));
    }
}
