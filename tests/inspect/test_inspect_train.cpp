// The inspect hook in real training runs: the agreed metric names at the right steps, dead
// ReLUs, the update ratio against its definition, boundary and histogram snapshots, the
// confusion matrix, the probe forward against the built (fused) model, and a run's numbers
// unchanged by inspection.
#include "builder.h"
#include "inspect_forward.h"
#include "weights_io.h"

#include "nnlab/data.h"
#include "nnlab/experiment.h"
#include "nnlab/safetensors.h"
#include "nnlab/spec_json.h"
#include "nnlab/trainer.h"

#include <nlohmann/json.hpp>

#include <QTemporaryDir>
#include <QtTest>

#include <cmath>
#include <map>
#include <set>

using namespace nnlab;

namespace {

const char* const kSpiral = R"({"format": "nnlab.experiment/1", "name": "inspect", "seed": 3,
  "data": {"source": "spiral", "samples": 200, "classes": 3, "noise": 0.05, "validation_fraction": 0.2},
  "model": {"input": [2], "layers": [{"type": "linear", "out_features": 8}, {"type": "relu"},
                                     {"type": "linear", "out_features": 8}, {"type": "relu"},
                                     {"type": "linear"}]},
  "optimizer": {"type": "sgd", "lr": 0.1},
  "training": {"epochs": 2, "batch_size": 20, "threads": 1, "deterministic": true, "checkpoint_every_seconds": 0},
  "inspect": {"layer_stats_every_steps": 4, "histograms_every_steps": 8, "boundary_every_steps": 5,
              "boundary_resolution": 16, "confusion_matrix": true}})";

ExperimentSpec parse(const std::string& json, const std::vector<std::string>& overrides = {})
{
    const ParseResult r = parseExperiment(json, overrides);
    if (!r.ok())
        qFatal("%s", r.errorText().c_str());
    return r.spec;
}

struct Recorded {
    TrainResult result;
    std::vector<MetricPoint> points;
    std::vector<Snapshot> snapshots;
    DataBundle data;

    std::vector<int64_t> steps(const std::string& tag) const
    {
        std::vector<int64_t> out;
        for (const auto& p : points)
            if (p.tag == tag)
                out.push_back(p.step);
        return out;
    }
    double at(const std::string& tag, int64_t step) const
    {
        for (const auto& p : points)
            if (p.tag == tag && p.step == step)
                return p.value;
        return NAN;
    }
    std::vector<const Snapshot*> of(SnapshotKind kind, const std::string& name = "*") const
    {
        std::vector<const Snapshot*> out;
        for (const auto& s : snapshots)
            if (s.kind == kind && (name == "*" || s.name == name))
                out.push_back(&s);
        return out;
    }
};

Recorded run(const ExperimentSpec& spec, const TrainOptions& options = {})
{
    Recorded r;
    r.data = loadData(spec.data, spec.isClassification(), spec.seed);
    const Preparation p = prepareExperiment(spec);
    if (!p.ok())
        qFatal("%s", p.errorText().c_str());
    TrainCallbacks callbacks;
    callbacks.metrics = [&](const std::vector<MetricPoint>& batch) { r.points.insert(r.points.end(), batch.begin(), batch.end()); };
    callbacks.snapshots = [&](const std::vector<Snapshot>& batch) {
        r.snapshots.insert(r.snapshots.end(), batch.begin(), batch.end());
    };
    TrainControl control;
    r.result = train(p.experiment, r.data, control, callbacks, options);
    if (r.result.status != TrainStatus::Finished)
        qFatal("training failed: %s", r.result.message.c_str());
    return r;
}

} // namespace

class TestInspectTrain : public QObject {
    Q_OBJECT
private:
    QTemporaryDir m_dir;

private Q_SLOTS:
    void metricsAtTheirSteps()
    {
        const Recorded r = run(parse(kSpiral));
        const std::vector<int64_t> every4{4, 8, 12, 16};
        for (const char* layer : {"0", "1", "2", "3", "4"}) {
            QCOMPARE(r.steps(std::string("layers/") + layer + "/act_mean"), every4);
            QCOMPARE(r.steps(std::string("layers/") + layer + "/act_std"), every4);
        }
        for (const char* layer : {"1", "3"})
            QCOMPARE(r.steps(std::string("layers/") + layer + "/dead_fraction"), every4);
        QVERIFY(r.steps("layers/0/dead_fraction").empty());   // not a ReLU
        for (const char* layer : {"0", "2", "4"})
            for (const char* stat : {"weight_norm", "grad_norm", "update_ratio"})
                QCOMPARE(r.steps(std::string("layers/") + layer + "/" + stat), every4);
        QVERIFY(r.steps("layers/1/weight_norm").empty());     // no weights
        for (const auto& p : r.points)
            if (p.tag.rfind("layers/", 0) == 0)
                QVERIFY2(std::isfinite(p.value), p.tag.c_str());
    }

    // Plain SGD: the update is lr x gradient, so ||dW|| / ||W|| = lr ||g|| / ||W|| exactly.
    void updateRatioIsLrTimesGradOverWeight()
    {
        const Recorded r = run(parse(kSpiral));
        int checked = 0;
        for (const char* layer : {"0", "2", "4"})
            for (int64_t step : {4, 8, 12, 16}) {
                const std::string base = std::string("layers/") + layer + "/";
                const double expected = 0.1 * r.at(base + "grad_norm", step) / r.at(base + "weight_norm", step);
                const double ratio = r.at(base + "update_ratio", step);
                QVERIFY2(std::abs(ratio - expected) <= 1e-4 * expected,
                         qPrintable(QString("%1 at %2: %3 vs %4").arg(layer).arg(step).arg(ratio).arg(expected)));
                QVERIFY(ratio > 0);
                ++checked;
            }
        QCOMPARE(checked, 12);
    }

    // A first layer whose bias is far below its inputs' reach never fires: its ReLU is dead
    // for every sample (and stays so: no gradient reaches it). The seeded one is healthy.
    void deadFraction()
    {
        ExperimentSpec spec = parse(kSpiral, {"model.layers[0].out_features=16", "model.layers[4].out_features=3", "optimizer.lr=0.01"});
        const Recorded healthy = run(spec);
        for (int64_t step : {4, 8, 12, 16})
            QVERIFY2(healthy.at("layers/1/dead_fraction", step) < 0.5, qPrintable(QString::number(healthy.at("layers/1/dead_fraction", step))));

        const Preparation p = prepareExperiment(spec);
        torch::manual_seed(spec.seed);
        torch::nn::Sequential model = nnlab::detail::buildModel(p.experiment.spec.model, p.experiment.model);
        std::vector<NamedTensor> weights = nnlab::detail::weightsOf(*model);
        for (NamedTensor& t : weights)
            if (t.name == "0.bias")
                std::fill(t.values.begin(), t.values.end(), -1000.0f);
        const std::string file = m_dir.filePath("dead.safetensors").toStdString();
        writeSafetensors(file, weights, {});
        TrainOptions options;
        options.initWeights = file;
        const Recorded dead = run(spec, options);
        for (int64_t step : {4, 8, 12, 16})
            QCOMPARE(dead.at("layers/1/dead_fraction", step), 1.0);
        QCOMPARE(dead.at("layers/1/act_mean", 16), 0.0);
    }

    void boundarySnapshots()
    {
        const Recorded r = run(parse(kSpiral));
        const auto boundaries = r.of(SnapshotKind::DecisionBoundary);
        QCOMPARE(boundaries.size(), size_t(3));   // steps 5, 10, 15
        QCOMPARE(boundaries[0]->step, int64_t(5));
        QCOMPARE(boundaries[2]->step, int64_t(15));
        for (const Snapshot* b : boundaries) {
            QCOMPARE(b->shape, (std::vector<int64_t>{3, 16, 16}));
            QCOMPARE(static_cast<int64_t>(b->values.size()), b->elementCount());
            for (int64_t cell = 0; cell < 256; ++cell) {
                double sum = 0;
                for (int64_t c = 0; c < 3; ++c)
                    sum += b->values[static_cast<size_t>(c * 256 + cell)];
                QVERIFY(std::abs(sum - 1.0) < 1e-4);
            }
        }
        // The extent covers the training data with a margin, in raw and normalized units.
        const auto meta = nlohmann::json::parse(boundaries[0]->meta);
        QCOMPARE(meta["classes"].get<int>(), 3);
        QCOMPARE(meta["resolution"].get<int>(), 16);
        QCOMPARE(meta["class_names"].size(), size_t(3));
        const Dataset& train = r.data.train;
        for (int d = 0; d < 2; ++d) {
            float lo = INFINITY, hi = -INFINITY;
            for (int64_t i = 0; i < train.count(); ++i) {
                lo = std::min(lo, train.features[static_cast<size_t>(i * 2 + d)]);
                hi = std::max(hi, train.features[static_cast<size_t>(i * 2 + d)]);
            }
            const auto& norm = meta[d == 0 ? "normalized_x" : "normalized_y"];
            const double margin = 0.15 * (hi - lo);
            QVERIFY(std::abs(norm[0].get<double>() - (lo - margin)) < 1e-4);
            QVERIFY(std::abs(norm[1].get<double>() - (hi + margin)) < 1e-4);
            const auto& raw = meta[d == 0 ? "x" : "y"];
            // (the 2-D generators' auto normalization is none: then raw and normalized agree)
            const bool none = r.data.inputScale.empty();
            const double scale = none ? 1.0 : r.data.inputScale.at(static_cast<size_t>(d));
            const double shift = none ? 0.0 : r.data.inputShift.at(static_cast<size_t>(d));
            QVERIFY(std::abs(raw[0].get<double>() - (norm[0].get<double>() * scale + shift)) < 1e-4);
            QVERIFY(raw[0].get<double>() < raw[1].get<double>());
        }
        // Hidden layers of 8 units: each neuron on the coarser grid, after its ReLU.
        for (const char* layer : {"1", "3"}) {
            const auto neurons = r.of(SnapshotKind::NeuronBoundary, layer);
            QCOMPARE(neurons.size(), size_t(3));
            QCOMPARE(neurons[0]->shape, (std::vector<int64_t>{8, 8, 8}));
            QVERIFY(*std::min_element(neurons[0]->values.begin(), neurons[0]->values.end()) >= 0.0f);
            const auto m = nlohmann::json::parse(neurons[0]->meta);
            QCOMPARE(m["linear"].get<std::string>(), std::string(layer[0] == '1' ? "0" : "2"));
            QCOMPARE(m["units"].get<int>(), 8);
        }
        // Wider hidden layers get no neuron maps.
        const Recorded wide = run(parse(kSpiral, {"model.layers[0].out_features=32", "model.layers[2].out_features=32"}));
        QVERIFY(wide.of(SnapshotKind::NeuronBoundary).empty());
        QCOMPARE(wide.of(SnapshotKind::DecisionBoundary).size(), size_t(3));
    }

    void histogramSnapshots()
    {
        const Recorded r = run(parse(kSpiral));
        const std::map<std::string, int64_t> sizes{{"0", 16}, {"2", 64}, {"4", 24}};
        for (const auto& [layer, size] : sizes)
            for (SnapshotKind kind : {SnapshotKind::WeightHistogram, SnapshotKind::GradientHistogram}) {
                const auto h = r.of(kind, layer);
                QCOMPARE(h.size(), size_t(2));   // steps 8, 16
                QCOMPARE(h[0]->step, int64_t(8));
                QCOMPARE(h[0]->shape, std::vector<int64_t>{30});
                double total = 0;
                for (float c : h[0]->values)
                    total += c;
                QCOMPARE(static_cast<int64_t>(total), size);
                const auto meta = nlohmann::json::parse(h[0]->meta);
                QCOMPARE(meta["edges"].size(), size_t(31));
                QVERIFY(meta["edges"][0].get<double>() < meta["edges"][30].get<double>());
                QCOMPARE(meta["tensor"].get<std::string>(), layer + ".weight");
            }
        QCOMPARE(r.of(SnapshotKind::WeightHistogram).size(), size_t(6));
    }

    void confusionAtEachEvaluation()
    {
        const Recorded r = run(parse(kSpiral));
        const auto matrices = r.of(SnapshotKind::ConfusionMatrix);
        QCOMPARE(matrices.size(), size_t(2));   // two epochs
        for (const Snapshot* m : matrices) {
            QCOMPARE(m->shape, (std::vector<int64_t>{3, 3}));
            double total = 0, diagonal = 0;
            for (int64_t i = 0; i < 9; ++i)
                total += m->values[static_cast<size_t>(i)];
            for (int64_t c = 0; c < 3; ++c)
                diagonal += m->values[static_cast<size_t>(c * 4)];
            QCOMPARE(static_cast<int64_t>(total), r.data.validation.count());
            QVERIFY(std::abs(diagonal / total - r.at("val/accuracy", m->step)) < 1e-9);
            for (int64_t c = 0; c < 3; ++c) {
                double column = 0, row = 0;
                for (int64_t k = 0; k < 3; ++k) {
                    column += m->values[static_cast<size_t>(k * 3 + c)];
                    row += m->values[static_cast<size_t>(c * 3 + k)];
                }
                const double hit = m->values[static_cast<size_t>(c * 4)];
                QCOMPARE(r.at("val/precision/" + std::to_string(c), m->step), column > 0 ? hit / column : 0.0);
                QCOMPARE(r.at("val/recall/" + std::to_string(c), m->step), row > 0 ? hit / row : 0.0);
            }
        }
        const Recorded off = run(parse(kSpiral, {"inspect.confusion_matrix=false"}));
        QVERIFY(off.of(SnapshotKind::ConfusionMatrix).empty());
        QVERIFY(off.steps("val/precision/0").empty());
    }

    // Residual bodies are visited: their layers' paths are "<block>.body.<i>".
    void residualBodyPaths()
    {
        const Recorded r = run(parse(kSpiral, {R"(model.layers=[{"type": "linear", "out_features": 8},
            {"type": "residual", "layers": [{"type": "linear", "out_features": 8}, {"type": "relu"}]},
            {"type": "linear"}])"}));
        QCOMPARE(r.steps("layers/1.body.0/act_mean"), (std::vector<int64_t>{4, 8, 12, 16}));
        QCOMPARE(r.steps("layers/1.body.1/dead_fraction"), (std::vector<int64_t>{4, 8, 12, 16}));
        QCOMPARE(r.steps("layers/1/act_std"), (std::vector<int64_t>{4, 8, 12, 16}));
        QCOMPARE(r.steps("layers/1.body.0/update_ratio"), (std::vector<int64_t>{4, 8, 12, 16}));
    }

    // The probe's layer-by-layer forward gives what the built (fused, reordered) model gives.
    void probeForwardMatchesTheModel()
    {
        const ExperimentSpec spec = parse(R"({"format": "nnlab.experiment/1", "name": "cnn",
          "data": {"source": "csv", "path": "x.csv"}, "loss": "cross_entropy",
          "model": {"input": [1, 12, 12], "layers": [
            {"type": "conv2d", "out_channels": 4, "kernel_size": 3, "padding": 1}, {"type": "relu"},
            {"type": "maxpool2d", "kernel_size": 2},
            {"type": "residual", "layers": [{"type": "conv2d", "out_channels": 6, "kernel_size": 3, "padding": 1, "stride": 2},
                                            {"type": "batchnorm2d"}, {"type": "relu"}]},
            {"type": "leaky_relu", "negative_slope": 0.1}, {"type": "maxpool2d", "kernel_size": 2},
            {"type": "flatten"}, {"type": "linear", "out_features": 5}, {"type": "relu"}, {"type": "dropout", "p": 0.5},
            {"type": "linear", "out_features": 3}]}})");
        const Preparation p = prepareExperiment(spec);
        QVERIFY2(p.ok(), p.errorText().c_str());
        torch::manual_seed(1);
        torch::nn::Sequential model = nnlab::detail::buildModel(p.experiment.spec.model, p.experiment.model, /*fuse*/ true);
        {   // running statistics that differ from the defaults
            torch::NoGradGuard noGrad;
            for (auto& b : model->named_buffers())
                if (b.key().find("running_") != std::string::npos)
                    b.value().uniform_(0.5, 1.5);
        }
        model->eval();
        const torch::Tensor x = torch::randn({5, 1, 12, 12});
        torch::NoGradGuard noGrad;
        const torch::Tensor expected = model->forward(x);
        std::vector<std::string> visited;
        const torch::Tensor probed = nnlab::detail::specForward(p.experiment.spec.model.layers, x, nnlab::detail::moduleTensors(*model), false,
                                                         [&](const std::string& path, const LayerSpec&, const torch::Tensor&) {
                                                             visited.push_back(path);
                                                             return true;
                                                         });
        QVERIFY2(torch::allclose(probed, expected, 1e-4, 1e-5), qPrintable(QString::number((probed - expected).abs().max().item<double>())));
        QCOMPARE(visited.size(), size_t(14));   // 11 top-level layers, 3 in the block
        QCOMPARE(visited[3], std::string("3.body.0"));
        QCOMPARE(visited[6], std::string("3"));
    }

    // Inspection reads; it never changes what the run computes (dropout and batch norm included).
    void runUnchangedByInspection()
    {
        const std::vector<std::string> model{R"(model.layers=[{"type": "linear", "out_features": 16}, {"type": "batchnorm1d"},
            {"type": "relu"}, {"type": "dropout", "p": 0.3}, {"type": "linear", "out_features": 8}, {"type": "relu"},
            {"type": "linear"}])"};
        std::vector<std::string> off = model, on = model;
        off.push_back(R"(inspect={"layer_stats_every_steps": 0, "histograms_every_steps": 0, "boundary_every_steps": 0,
                                  "confusion_matrix": false})");
        on.push_back(R"(inspect={"layer_stats_every_steps": 1, "histograms_every_steps": 1, "boundary_every_steps": 1,
                                 "boundary_resolution": 8, "confusion_matrix": true})");
        const Recorded a = run(parse(kSpiral, off));
        const Recorded b = run(parse(kSpiral, on));
        QVERIFY(a.snapshots.empty());
        QVERIFY(!b.of(SnapshotKind::DecisionBoundary).empty());
        size_t compared = 0;
        for (const auto& p : a.points) {   // what the model computes; not the timings
            if (p.tag.find("loss") == std::string::npos && p.tag.find("accuracy") == std::string::npos)
                continue;
            const double other = b.at(p.tag, p.step);
            QVERIFY2(p.value == other, qPrintable(QString("%1 at %2: %3 vs %4").arg(p.tag.c_str()).arg(p.step).arg(p.value).arg(other)));
            ++compared;
        }
        QVERIFY(compared >= 4);
    }
};

QTEST_APPLESS_MAIN(TestInspectTrain)
#include "test_inspect_train.moc"
