// Loading what the inspect docks need off the GUI thread: a 2-D data set's points in raw
// units, and a stored run's experiment. Plain functions meant for QtConcurrent::run; they
// never throw, and report what went wrong as text.
#pragma once

#include "boundary_view.h"

#include "nnlab/snapshot.h"
#include "nnlab/spec.h"

#include <QString>
#include <QStringList>

namespace inspect {

struct PlaneData {
    bool twoD = false;         // the experiment's inputs have exactly 2 features
    QString error;             // loading failed (twoD may still be true)
    PlanePoints train;
    PlanePoints validation;
    int classes = 0;
    QStringList classNames;
};

// Whether an experiment has 2-feature inputs, when that is known without loading its data
// (the 2-D generators; image sources are not). Unknown (CSV): true, loadPlaneData decides.
bool mayBeTwoD(const nnlab::ExperimentSpec& spec);

// The experiment's training and validation points as training splits them (same seed), in
// raw feature units (the normalization undone), for 2-feature classification data.
PlaneData loadPlaneData(const nnlab::ExperimentSpec& spec);

// A stored run's snapshots of one kind and name ("" = every name), in step order.
struct StoredSnapshots {
    std::vector<nnlab::Snapshot> snapshots;
    QString error;
};
StoredSnapshots readSnapshots(const QString& storePath, const QString& runId, nnlab::SnapshotKind kind,
                              const std::string& name = {});

// The experiment a stored run was trained with; false with *error naming the run.
bool storedExperiment(const QString& storePath, const QString& runId, nnlab::ExperimentSpec* spec, QString* error);

} // namespace inspect
