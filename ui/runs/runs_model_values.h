// Values of a stored run that the Runs dock's run rows and sweep rows both show.
#pragma once

#include "nnlab/store.h"

#include <QString>
#include <QStringList>

#include <cmath>
#include <string>
#include <vector>

namespace runs_model {

inline QString text(const std::string& s) { return QString::fromStdString(s); }

// Best validation accuracy, NaN when the run has none (yet).
inline double bestAccuracy(const nnlab::RunSummary& run)
{
    const auto it = run.metrics.find("val/accuracy");
    return it == run.metrics.end() ? std::nan("") : it->second.bestValue;
}

inline double startTime(const nnlab::RunSummary& run)
{
    return run.startedAt > 0 ? run.startedAt : run.createdAt;
}

inline QString joinTags(const std::vector<std::string>& tags)
{
    QStringList out;
    for (const std::string& t : tags)
        out << text(t);
    return out.join(QStringLiteral(", "));
}

} // namespace runs_model
