// Runs the learning-rate range test (nnlab/lr_finder.h) on a worker thread: loads the
// experiment's data, fits the experiment to it and runs findLearningRate. Cancel is a
// thread-safe direct call (TrainControl's atomic). No exception leaves run(): exactly one of
// finished, cancelled or failed ends every run.
#pragma once

#include "nnlab/lr_finder.h"
#include "nnlab/spec.h"
#include "nnlab/trainer.h"

#include <QMetaType>
#include <QObject>
#include <QString>

Q_DECLARE_METATYPE(nnlab::LrFinderResult)
Q_DECLARE_METATYPE(nnlab::LrFinderProgress)

class LrFinderWorker : public QObject {
    Q_OBJECT
public:
    LrFinderWorker(nnlab::ExperimentSpec spec, nnlab::LrFinderOptions options);
    void cancel() { m_control.cancel(); }

public slots:
    void run();

signals:
    void stage(const QString& text);                          // "Loading fashion-mnist…"
    void progress(const nnlab::LrFinderProgress& progress);   // at most every ~100 ms
    void finished(const nnlab::LrFinderResult& result);       // ran to the end or to divergence
    void cancelled();
    void failed(const QString& message);

private:
    nnlab::ExperimentSpec m_spec;
    nnlab::LrFinderOptions m_options;
    nnlab::TrainControl m_control;
};
