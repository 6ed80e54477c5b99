// One job of the Compress dialog's queue: compress a stored run (nnlab::compressRun) or distill
// a student experiment from it (nnlab::distillSession), as a plain value the dialog builds from
// its widgets, and the function that runs it on a BackgroundTask's thread.
#pragma once

#include "compress/background_task.h"

#include "nnlab/compress.h"
#include "nnlab/distill.h"

#include <QString>

struct CompressJob {
    enum class Kind { Compress, Distill };
    Kind kind = Kind::Compress;
    QString sourceRunId;                 // the run compressed, or the teacher
    nnlab::CompressRequest request;      // Compress: method and options (databasePath set)
    QString studentFile;                 // Distill: the student's experiment file
    nnlab::DistillOptions distill;       // Distill: alpha, T; teacherRun = sourceRunId
    QString databasePath;                // the store both read and record into
    QString runName;                     // the new run's name; empty = the engine's default

    // One line for the queue: "prune 50% structured (L1), 1 fine-tuning epoch".
    QString description() const;
};

// What a finished job hands back (the QVariant of BackgroundTask::finished).
struct CompressJobOutcome {
    QString runId;                       // the new run
    QString summary;                     // one line for the queue
};
Q_DECLARE_METATYPE(CompressJobOutcome)

// The body that runs `job` (progress by stage; cancel through the task's TrainControl).
// Throws what the engine throws (the task turns it into failed(message)); a distillation
// session that fails throws its message.
TaskBody compressJobBody(const CompressJob& job);
