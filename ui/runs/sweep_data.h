// What the sweep view shows, computed from recorded runs alone: a trial is any run (tagged
// "sweep:<id>" by nnlab-cli sweep, or picked by hand), its hyperparameters are the leaf
// key paths of the stored experiments whose values differ among the runs, and its result
// is one metric's best value. No widgets here: the charts draw from these values.
#pragma once

#include "nnlab/store.h"

#include <QHash>
#include <QString>
#include <QStringList>
#include <QVector>

#include <limits>
#include <string>
#include <vector>

namespace sweep {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// The tag prefix nnlab-cli sweep gives its trials ("sweep:<id>"), and the tag of a trial
// the pruner (ASHA, median stopping) ended early.
inline const QString kSweepTagPrefix = QStringLiteral("sweep:");
inline const QString kPrunedTag = QStringLiteral("pruned");

// The sweep id of a run's tags ("sweep:abc" -> "abc"), empty when it has none. Tags are
// sorted, so a run with two sweep tags belongs to the first.
QString sweepIdOf(const std::vector<std::string>& tags);

enum class ParameterKind {
    Numeric,       // every value present is a JSON number
    Categorical,   // strings, booleans, null, or a mix; a missing key is its own value "—"
};

// One axis of the view: a hyperparameter, or the result metric.
struct Parameter {
    QString key;                     // "optimizer.lr", "model.layers[0].out_features"
    ParameterKind kind = ParameterKind::Numeric;
    bool logScale = false;           // numeric, every value > 0 and max >= 10 x min
    double min = kNaN;               // numeric: smallest and largest finite value
    double max = kNaN;
    std::vector<double> values;      // numeric: the distinct finite values, ascending
    QStringList categories;          // categorical: the distinct values, sorted (numbers by value)
};

struct Trial {
    QString runId;
    QString name;
    nnlab::RunStatus status = nnlab::RunStatus::Finished;
    bool pruned = false;
    QHash<QString, QString> values;  // flat key -> JSON text of the value ("0.01", "\"adam\"")
    double result = kNaN;            // the result metric: best value, or the final one
};

struct Sweep {
    QString title;                   // "Sweep abc" when the runs share one sweep tag, else "5 runs"
    QString metric;                  // the result metric's tag
    int direction = 1;               // +1 higher is better, -1 lower (nnlab::metricDirection; 0 as +1)
    std::vector<Trial> trials;       // in the order the runs were given
    std::vector<Parameter> parameters;   // in the experiment's key order
    QStringList metrics;             // every metric tag some trial recorded, sorted
};

// The result metric when none is chosen: the sweep's own metric (sweep.metric, else
// training.best_metric, when not "auto"), else val/accuracy, val/loss, or the first tag with
// a direction that the runs recorded.
QString defaultMetric(const std::vector<nnlab::RunDetails>& runs);

// The runs as a sweep ranked by `metric` (empty: defaultMetric).
Sweep buildSweep(const std::vector<nnlab::RunDetails>& runs, const QString& metric = {});

// A run's value of a metric: its best one when the tag has a direction, else its final one.
double resultOf(const nnlab::RunSummary& run, const QString& metric);

// The result metric as an axis (numeric, over the trials' finite results).
Parameter resultAxis(const Sweep& sweep);

// A trial's value on an axis as a position in [0, 1] (log scale applied; categories evenly
// spaced, a single one in the middle); NaN when the trial has no numeric value there.
double position(const Parameter& parameter, const Trial& trial);
double numericPosition(const Parameter& parameter, double value);
// The value's numeric reading for numeric parameters (NaN when missing), and the category
// index for categorical ones.
double valueOf(const Parameter& parameter, const Trial& trial);

struct Tick {
    double position = 0.0;           // in [0, 1]
    QString label;
};
// Labelled ticks along an axis: decades (and 2x, 5x when few) on log axes, round numbers
// on linear ones, every category on categorical ones.
QVector<Tick> axisTicks(const Parameter& parameter);
QString formatValue(double value);

// How much a parameter goes with the result, in [0, 1]. Numeric: |Spearman's rho| between
// the parameter and the result. Categorical: the correlation ratio eta of the result's ranks
// over the parameter's groups, adjusted for the number of groups (sqrt of 1 - (1 - eta^2)
// (n - 1) / (n - k), at least 0), so that a parameter with many values is not favoured by
// chance. Both are computed on ranks and read like |rho|.
struct Importance {
    QString key;
    double score = kNaN;             // NaN: fewer than 3 trials with a result and a value
    double rho = kNaN;               // numeric: the signed Spearman correlation
    bool categorical = false;
    int samples = 0;
};
// One entry per parameter, highest score first (NaN scores last).
std::vector<Importance> importance(const Sweep& sweep);
QString importanceMethod();          // the explanation above, for tooltips

// Average ranks (1-based; ties share their mean rank).
std::vector<double> ranks(const std::vector<double>& values);
double spearman(const std::vector<double>& x, const std::vector<double>& y);

} // namespace sweep
