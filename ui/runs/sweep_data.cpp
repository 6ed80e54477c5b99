#include "runs/sweep_data.h"

#include "runs/experiment_diff.h"

#include <QJsonDocument>
#include <QJsonObject>
#include <QObject>
#include <QSet>

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <set>

namespace sweep {

namespace {

const QString kMissing = QStringLiteral("—");

// Keys every trial has its own value for, which are not hyperparameters.
bool ignoredKey(const QString& key)
{
    return key.isEmpty() || key == QLatin1String("name") || key == QLatin1String("format");
}

bool isNumber(const QString& jsonText, double* value)
{
    if (jsonText.isEmpty() || jsonText.front() == QLatin1Char('"'))
        return false;
    bool ok = false;
    const double v = jsonText.toDouble(&ok);
    if (ok && value)
        *value = v;
    return ok;
}

QString categoryLabel(const QString& jsonText)
{
    if (jsonText.size() >= 2 && jsonText.front() == QLatin1Char('"') && jsonText.back() == QLatin1Char('"'))
        return jsonText.mid(1, jsonText.size() - 2);
    return jsonText;
}

// min, max, distinct values and the log decision of a numeric axis.
void finishNumeric(Parameter& p, std::vector<double> values)
{
    values.erase(std::remove_if(values.begin(), values.end(), [](double v) { return !std::isfinite(v); }),
                 values.end());
    std::sort(values.begin(), values.end());
    values.erase(std::unique(values.begin(), values.end()), values.end());
    p.values = values;
    p.min = values.empty() ? kNaN : values.front();
    p.max = values.empty() ? kNaN : values.back();
    p.logScale = !values.empty() && p.min > 0.0 && p.max >= 10.0 * p.min;
}

Parameter makeParameter(const QString& key, const std::vector<Trial>& trials)
{
    Parameter p;
    p.key = key;
    bool numeric = true;
    std::vector<double> numbers;
    for (const Trial& t : trials) {
        const auto it = t.values.constFind(key);
        if (it == t.values.constEnd())
            continue;
        double v = 0.0;
        if (!isNumber(it.value(), &v)) {
            numeric = false;
            break;
        }
        numbers.push_back(v);
    }
    if (numeric) {
        p.kind = ParameterKind::Numeric;
        finishNumeric(p, numbers);
        return p;
    }
    p.kind = ParameterKind::Categorical;
    QSet<QString> seen;
    for (const Trial& t : trials)
        seen.insert(t.values.value(key, kMissing));
    QStringList categories(seen.begin(), seen.end());
    std::sort(categories.begin(), categories.end(), [](const QString& a, const QString& b) {
        double x = 0.0, y = 0.0;
        const bool na = isNumber(a, &x), nb = isNumber(b, &y);
        if (na && nb)
            return x < y;
        if (na != nb)
            return na;   // numbers first, then words, "—" (missing) sorts after letters
        return a < b;
    });
    p.categories = categories;
    return p;
}

QString jsonString(const QJsonObject& o, const char* section, const char* key)
{
    return o.value(QLatin1String(section)).toObject().value(QLatin1String(key)).toString();
}

double pearson(const std::vector<double>& x, const std::vector<double>& y)
{
    const size_t n = x.size();
    if (n < 2 || y.size() != n)
        return kNaN;
    const double mx = std::accumulate(x.begin(), x.end(), 0.0) / static_cast<double>(n);
    const double my = std::accumulate(y.begin(), y.end(), 0.0) / static_cast<double>(n);
    double sxy = 0.0, sxx = 0.0, syy = 0.0;
    for (size_t i = 0; i < n; ++i) {
        sxy += (x[i] - mx) * (y[i] - my);
        sxx += (x[i] - mx) * (x[i] - mx);
        syy += (y[i] - my) * (y[i] - my);
    }
    return sxx > 0.0 && syy > 0.0 ? sxy / std::sqrt(sxx * syy) : kNaN;
}

} // namespace

QString sweepIdOf(const std::vector<std::string>& tags)
{
    for (const std::string& tag : tags) {
        const QString t = QString::fromStdString(tag);
        if (t.startsWith(kSweepTagPrefix) && t.size() > kSweepTagPrefix.size())
            return t.mid(kSweepTagPrefix.size());
    }
    return {};
}

double resultOf(const nnlab::RunSummary& run, const QString& metric)
{
    const auto it = run.metrics.find(metric.toStdString());
    if (it == run.metrics.end())
        return kNaN;
    return nnlab::metricDirection(it->first) != 0 ? it->second.bestValue : it->second.finalValue;
}

QString defaultMetric(const std::vector<nnlab::RunDetails>& runs)
{
    std::set<std::string> recorded;
    for (const auto& run : runs)
        for (const auto& [tag, summary] : run.metrics)
            recorded.insert(tag);
    if (!runs.empty()) {
        const QJsonObject experiment = QJsonDocument::fromJson(QByteArray::fromStdString(runs.front().experimentJson)).object();
        for (const QString& chosen : {jsonString(experiment, "sweep", "metric"), jsonString(experiment, "training", "best_metric")})
            if (!chosen.isEmpty() && chosen != QLatin1String("auto") && recorded.count(chosen.toStdString()))
                return chosen;
    }
    for (const char* tag : {"val/accuracy", "val/loss"})
        if (recorded.count(tag))
            return QString::fromLatin1(tag);
    for (const std::string& tag : recorded)
        if (nnlab::metricDirection(tag) != 0)
            return QString::fromStdString(tag);
    return recorded.empty() ? QStringLiteral("val/accuracy") : QString::fromStdString(*recorded.begin());
}

Sweep buildSweep(const std::vector<nnlab::RunDetails>& runs, const QString& metric)
{
    Sweep sweep;
    sweep.metric = metric.isEmpty() ? defaultMetric(runs) : metric;
    const int direction = nnlab::metricDirection(sweep.metric.toStdString());
    sweep.direction = direction < 0 ? -1 : 1;

    QStringList keyOrder;
    QSet<QString> known;
    QSet<QString> sweepIds;
    std::set<std::string> metrics;
    for (const nnlab::RunDetails& run : runs) {
        Trial t;
        t.runId = QString::fromStdString(run.id);
        t.name = QString::fromStdString(run.name);
        t.status = run.status;
        t.pruned = std::find(run.tags.begin(), run.tags.end(), kPrunedTag.toStdString()) != run.tags.end();
        t.result = resultOf(run, sweep.metric);
        for (const runs::FlatEntry& e : runs::flattenJson(QString::fromStdString(run.experimentJson))) {
            if (ignoredKey(e.key))
                continue;
            t.values.insert(e.key, e.value);
            if (!known.contains(e.key)) {
                known.insert(e.key);
                keyOrder << e.key;
            }
        }
        sweepIds.insert(sweepIdOf(run.tags));
        for (const auto& [tag, summary] : run.metrics)
            metrics.insert(tag);
        sweep.trials.push_back(std::move(t));
    }
    for (const std::string& tag : metrics)
        sweep.metrics << QString::fromStdString(tag);
    sweep.title = sweepIds.size() == 1 && !sweepIds.begin()->isEmpty()
        ? QObject::tr("Sweep %1").arg(*sweepIds.begin())
        : runs.size() == 1 ? QObject::tr("1 run") : QObject::tr("%1 runs").arg(runs.size());

    for (const QString& key : keyOrder) {
        QSet<QString> distinct;
        for (const Trial& t : sweep.trials)
            distinct.insert(t.values.value(key, kMissing));
        if (distinct.size() > 1)
            sweep.parameters.push_back(makeParameter(key, sweep.trials));
    }
    return sweep;
}

Parameter resultAxis(const Sweep& sweep)
{
    Parameter p;
    p.key = sweep.metric;
    std::vector<double> results;
    for (const Trial& t : sweep.trials)
        results.push_back(t.result);
    finishNumeric(p, results);
    p.logScale = false;   // results are compared as they are, not as orders of magnitude
    return p;
}

double numericPosition(const Parameter& p, double value)
{
    if (!std::isfinite(value) || !std::isfinite(p.min) || !std::isfinite(p.max))
        return kNaN;
    if (p.max <= p.min)
        return 0.5;
    if (p.logScale)
        return value > 0.0 ? (std::log10(value) - std::log10(p.min)) / (std::log10(p.max) - std::log10(p.min)) : kNaN;
    return (value - p.min) / (p.max - p.min);
}

double valueOf(const Parameter& p, const Trial& t)
{
    if (p.kind == ParameterKind::Categorical)
        return static_cast<double>(p.categories.indexOf(t.values.value(p.key, kMissing)));
    double v = kNaN;
    const auto it = t.values.constFind(p.key);
    return it != t.values.constEnd() && isNumber(it.value(), &v) ? v : kNaN;
}

double position(const Parameter& p, const Trial& t)
{
    if (p.kind == ParameterKind::Numeric)
        return numericPosition(p, valueOf(p, t));
    const double index = valueOf(p, t);
    if (index < 0)
        return kNaN;
    return p.categories.size() <= 1 ? 0.5 : index / static_cast<double>(p.categories.size() - 1);
}

QString formatValue(double value)
{
    if (!std::isfinite(value))
        return QStringLiteral("—");
    return QString::number(value, 'g', 4);
}

QVector<Tick> axisTicks(const Parameter& p)
{
    QVector<Tick> ticks;
    if (p.kind == ParameterKind::Categorical) {
        const int n = static_cast<int>(p.categories.size());
        for (int i = 0; i < n; ++i)
            ticks.push_back({n <= 1 ? 0.5 : static_cast<double>(i) / (n - 1), categoryLabel(p.categories[i])});
        return ticks;
    }
    if (!std::isfinite(p.min))
        return ticks;
    // A grid's few values are the labels users expect (16, 32, 64 rather than 20, 50).
    if (p.values.size() <= 8) {
        for (double v : p.values)
            ticks.push_back({numericPosition(p, v), formatValue(v)});
        return ticks;
    }
    if (p.logScale) {
        // Decades alone when they are enough; 1, 2, 5 of each over a span of a few.
        for (const auto& mantissas : {std::vector<double>{1.0}, std::vector<double>{1.0, 2.0, 5.0}}) {
            ticks.clear();
            for (int e = static_cast<int>(std::floor(std::log10(p.min))); e <= std::ceil(std::log10(p.max)); ++e)
                for (const double mantissa : mantissas) {
                    const double v = mantissa * std::pow(10.0, e);
                    if (v >= p.min * (1 - 1e-9) && v <= p.max * (1 + 1e-9))
                        ticks.push_back({numericPosition(p, v), formatValue(v)});
                }
            if (ticks.size() >= 4)
                break;
        }
        return ticks;
    }
    const double raw = (p.max - p.min) / 6.0;   // 4 to 7 round ticks
    const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
    double step = magnitude;
    for (const double m : {1.0, 2.0, 5.0, 10.0})
        if (m * magnitude >= raw) {
            step = m * magnitude;
            break;
        }
    for (double v = std::ceil(p.min / step) * step; v <= p.max + step * 1e-9; v += step)
        ticks.push_back({numericPosition(p, v), formatValue(std::abs(v) < step * 1e-9 ? 0.0 : v)});
    return ticks;
}

std::vector<double> ranks(const std::vector<double>& values)
{
    std::vector<size_t> order(values.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return values[a] < values[b]; });
    std::vector<double> out(values.size());
    for (size_t i = 0; i < order.size();) {
        size_t j = i;
        while (j + 1 < order.size() && values[order[j + 1]] == values[order[i]])
            ++j;
        const double mean = (static_cast<double>(i) + static_cast<double>(j)) / 2.0 + 1.0;
        for (size_t k = i; k <= j; ++k)
            out[order[k]] = mean;
        i = j + 1;
    }
    return out;
}

double spearman(const std::vector<double>& x, const std::vector<double>& y)
{
    return pearson(ranks(x), ranks(y));
}

std::vector<Importance> importance(const Sweep& sweep)
{
    std::vector<Importance> out;
    for (const Parameter& p : sweep.parameters) {
        Importance imp;
        imp.key = p.key;
        imp.categorical = p.kind == ParameterKind::Categorical;
        std::vector<double> x, y;
        for (const Trial& t : sweep.trials) {
            const double v = valueOf(p, t);
            if (std::isfinite(t.result) && std::isfinite(v)) {
                x.push_back(v);
                y.push_back(t.result);
            }
        }
        imp.samples = static_cast<int>(x.size());
        const size_t n = x.size();
        if (n >= 3 && !imp.categorical) {
            imp.rho = spearman(x, y);
            imp.score = std::isfinite(imp.rho) ? std::abs(imp.rho) : 0.0;
        } else if (n >= 3) {
            const std::vector<double> r = ranks(y);
            const double mean = (static_cast<double>(n) + 1.0) / 2.0;
            std::map<double, std::pair<double, int>> groups;   // category -> (rank sum, count)
            double total = 0.0;
            for (size_t i = 0; i < n; ++i) {
                groups[x[i]].first += r[i];
                groups[x[i]].second += 1;
                total += (r[i] - mean) * (r[i] - mean);
            }
            double between = 0.0;
            for (const auto& [category, g] : groups) {
                const double gm = g.first / g.second;
                between += g.second * (gm - mean) * (gm - mean);
            }
            const auto k = static_cast<double>(groups.size());
            if (total <= 0.0 || groups.size() <= 1) {
                imp.score = 0.0;
            } else if (static_cast<double>(n) > k) {
                const double eta2 = between / total;
                const double adjusted = 1.0 - (1.0 - eta2) * (static_cast<double>(n) - 1.0) / (static_cast<double>(n) - k);
                imp.score = std::sqrt(std::max(0.0, adjusted));
            }
        }
        out.push_back(imp);
    }
    std::stable_sort(out.begin(), out.end(), [](const Importance& a, const Importance& b) {
        const bool fa = std::isfinite(a.score), fb = std::isfinite(b.score);
        if (fa != fb)
            return fa;
        return fa && a.score > b.score;
    });
    return out;
}

QString importanceMethod()
{
    return QObject::tr(
        "How strongly each hyperparameter goes with the result, from 0 (not at all) to 1 (it decides the order).\n"
        "Numeric parameters: |Spearman's rho|, the rank correlation between the parameter's values and the result "
        "(the bar's sign in the tooltip says whether larger values did better).\n"
        "Categorical parameters: the correlation ratio eta of the results' ranks grouped by the parameter's value, "
        "adjusted for the number of groups (sqrt(1 - (1 - eta²)(n - 1)/(n - k))) so that a parameter with many values "
        "is not favoured by chance.\n"
        "Only trials with both a result and a value count; at least 3 are needed. A correlation, not a cause: "
        "parameters that were varied together share their effect.");
}

} // namespace sweep
