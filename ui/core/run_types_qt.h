// The engine's run types as Qt meta-types, so the training worker's signals carry them
// (queued across threads and recorded by QSignalSpy) as values, never as text.
#pragma once

#include "nnlab/run_types.h"
#include "nnlab/snapshot.h"

#include <QMetaType>
#include <QString>
#include <QVector>

Q_DECLARE_METATYPE(nnlab::Progress)
Q_DECLARE_METATYPE(QVector<nnlab::MetricPoint>)
Q_DECLARE_METATYPE(nnlab::TrainStatus)
Q_DECLARE_METATYPE(nnlab::EventKind)
Q_DECLARE_METATYPE(QVector<nnlab::Snapshot>)

// The text users read ("finished", "paused"), from the engine's one table of names.
inline QString displayText(nnlab::TrainStatus status) { return QString::fromLatin1(nnlab::toString(status)); }
inline QString displayText(nnlab::EventKind kind) { return QString::fromLatin1(nnlab::toString(kind)); }
