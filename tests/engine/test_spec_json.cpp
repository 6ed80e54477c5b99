// Experiment files: every kind of mistake is reported with its JSON path; good files
// round-trip; --set overrides reach any field.
#include "nnlab/layer_types.h"
#include "nnlab/model_info.h"
#include "nnlab/spec_json.h"

#include <QTemporaryDir>
#include <QtTest>

#include <fstream>
#include <tuple>

using namespace nnlab;

namespace {

// A valid experiment that each bad case changes in one place.
const char* kBase = R"({
  "format": "nnlab.experiment/1", "name": "t", "seed": 1,
  "data": {"source": "spiral", "samples": 200, "classes": 3, "noise": 0.1},
  "model": {"input": [2], "layers": [
    {"type": "linear", "out_features": 16}, {"type": "relu"}, {"type": "linear", "out_features": 3}]},
  "loss": "cross_entropy",
  "optimizer": {"type": "adam", "lr": 0.01},
  "schedule": {"type": "constant"},
  "training": {"epochs": 2, "batch_size": 32}
})";

const char* kImage = R"({
  "format": "nnlab.experiment/1", "name": "img",
  "data": {"source": "fashion-mnist"},
  "model": {"input": [1, 28, 28], "layers": [
    {"type": "conv2d", "out_channels": 16, "kernel_size": 3, "padding": 1},
    {"type": "relu"},
    {"type": "maxpool2d", "kernel_size": 2},
    {"type": "batchnorm2d"},
    {"type": "flatten"},
    {"type": "linear", "out_features": 10}]}
})";

bool mentions(const Problems& problems, const QString& path, const QString& words)
{
    for (const auto& p : problems)
        if (QString::fromStdString(p.path) == path && QString::fromStdString(p.message).contains(words))
            return true;
    return false;
}

QString dump(const Problems& problems)
{
    QString s;
    for (const auto& p : problems)
        s += QString::fromStdString(p.text()) + "\n";
    return s;
}

} // namespace

namespace {

// Every field of each spec struct, in declaration order (as spec.cpp's operator== lists
// them): a struct that gains a field stops this file compiling here, until the field is
// listed and set to a non-default value in everyFieldSet() below.
auto fieldsOf(const LayerSpec& l)
{
    const auto& [type, name, options, layers] = l;
    return std::tie(type, name, options, layers);
}
auto fieldsOf(const ModelSpec& m)
{
    const auto& [input, layers] = m;
    return std::tie(input, layers);
}
auto fieldsOf(const DataSpec& d)
{
    const auto& [source, path, testPath, samples, classes, noise, trainLimit, validationFraction, normalize,
                 shuffle, labelColumn, header, delimiter, skipRows, comment] = d;
    return std::tie(source, path, testPath, samples, classes, noise, trainLimit, validationFraction, normalize,
                    shuffle, labelColumn, header, delimiter, skipRows, comment);
}
auto fieldsOf(const OptimizerSpec& o)
{
    const auto& [type, lr, momentum, nesterov, weightDecay, beta1, beta2, eps, alpha] = o;
    return std::tie(type, lr, momentum, nesterov, weightDecay, beta1, beta2, eps, alpha);
}
auto fieldsOf(const ScheduleSpec& s)
{
    const auto& [type, warmupSteps, stepSize, gamma, minLr, pctStart, divFactor, finalDivFactor] = s;
    return std::tie(type, warmupSteps, stepSize, gamma, minLr, pctStart, divFactor, finalDivFactor);
}
auto fieldsOf(const TrainingSpec& t)
{
    const auto& [epochs, batchSize, evalBatchSize, gradClipNorm, gradClipValue, threads, device, logEverySteps,
                 checkpointEverySteps, checkpointEverySeconds, bestMetric, deterministic, workers] = t;
    return std::tie(epochs, batchSize, evalBatchSize, gradClipNorm, gradClipValue, threads, device, logEverySteps,
                    checkpointEverySteps, checkpointEverySeconds, bestMetric, deterministic, workers);
}
auto fieldsOf(const MonitorSpec& m)
{
    const auto& [name, metric, rule, value, coefficient, window, minDelta, patience, actions, lrFactor, maxRollbacks] = m;
    return std::tie(name, metric, rule, value, coefficient, window, minDelta, patience, actions, lrFactor, maxRollbacks);
}
auto fieldsOf(const SweepParameter& p)
{
    const auto& [path, values, min, max, scale, integer] = p;
    return std::tie(path, values, min, max, scale, integer);
}
auto fieldsOf(const SweepSpec& s)
{
    const auto& [method, parameters, trials, concurrent, metric, pruner, reductionFactor, minEpochs] = s;
    return std::tie(method, parameters, trials, concurrent, metric, pruner, reductionFactor, minEpochs);
}
auto fieldsOf(const InspectSpec& i)
{
    const auto& [layerStatsEverySteps, histogramsEverySteps, boundaryEverySteps, boundaryResolution, confusionMatrix] = i;
    return std::tie(layerStatsEverySteps, histogramsEverySteps, boundaryEverySteps, boundaryResolution, confusionMatrix);
}
auto fieldsOf(const ExperimentSpec& e)
{
    const auto& [name, seed, data, model, loss, optimizer, schedule, training, monitors, sweep, inspect] = e;
    return std::tie(name, seed, data, model, loss, optimizer, schedule, training, monitors, sweep, inspect);
}

// Marks in `set` the fields of `value` that differ from those of `reference`.
template <class T> void markDiffering(const T& value, const T& reference, std::vector<bool>& set)
{
    const auto a = fieldsOf(value);
    const auto b = fieldsOf(reference);
    std::apply([&](const auto&... x) {
        std::apply([&](const auto&... y) {
            set.resize(sizeof...(x));
            size_t i = 0;
            ((set[i] = set[i] || x != y, ++i), ...);
        }, b);
    }, a);
}

LayerSpec fullLayer(const std::string& type, std::map<std::string, double> options, std::string name = {},
                    std::vector<LayerSpec> layers = {})
{
    LayerSpec l;
    l.type = type;
    if (const auto* info = findLayerType(type))
        for (const auto& opt : info->options)
            l.options[opt.key] = opt.defaultValue;
    for (const auto& [key, value] : options)
        l.options[key] = value;
    l.name = std::move(name);
    l.layers = std::move(layers);
    return l;
}

// Experiments that, between them, set every field of every spec struct to a value other
// than its default. One experiment cannot: the file holds only the keys its choices use (an
// adam optimizer has no momentum), so each covers one data source, optimizer and schedule.
std::vector<ExperimentSpec> everyFieldSet()
{
    ExperimentSpec base;
    base.name = "every field";
    base.seed = 4242;
    base.data.trainLimit = 900;
    base.data.validationFraction = 0.25;
    base.data.normalize = "standardize";
    base.data.shuffle = false;
    base.model.input = {2};
    base.model.layers = {
        fullLayer("linear", {{"out_features", 8}, {"bias", 0}}, "stem"),
        fullLayer("residual", {}, "block",
                  {fullLayer("linear", {{"out_features", 8}}), fullLayer("leaky_relu", {{"negative_slope", 0.2}})}),
        fullLayer("dropout", {{"p", 0.25}}),
        fullLayer("linear", {{"out_features", 3}}, "head"),
    };
    base.optimizer.lr = 0.0125;
    base.optimizer.weightDecay = 0.0005;
    base.training.epochs = 7;
    base.training.batchSize = 48;
    base.training.evalBatchSize = 256;
    base.training.gradClipNorm = 2.5;
    base.training.gradClipValue = 0.75;
    base.training.threads = 3;
    base.training.device = "cpu";
    base.training.logEverySteps = 5;
    base.training.checkpointEverySteps = 200;
    base.training.checkpointEverySeconds = 30;
    base.training.bestMetric = "val/loss";
    base.training.deterministic = true;
    base.training.workers = 3;
    // Between them the rules set every MonitorSpec field; each holds only the keys its rule
    // and actions use.
    base.monitors.resize(3);
    base.monitors[0].name = "diverging";
    base.monitors[0].rule = MonitorRule::Spike;
    base.monitors[0].coefficient = 4;
    base.monitors[0].window = 7;
    base.monitors[0].actions = {MonitorAction::Notify, MonitorAction::Rollback};
    base.monitors[0].lrFactor = 0.25;
    base.monitors[0].maxRollbacks = 2;
    base.monitors[1].metric = "val/loss";
    base.monitors[1].rule = MonitorRule::Plateau;
    base.monitors[1].minDelta = 0.001;
    base.monitors[1].patience = 4;
    base.monitors[1].actions = {MonitorAction::MultiplyLr};
    base.monitors[2].metric = "grad_norm";
    base.monitors[2].rule = MonitorRule::Above;
    base.monitors[2].value = 100;
    base.monitors[2].actions = {MonitorAction::Annotate, MonitorAction::Stop};
    base.inspect.layerStatsEverySteps = 7;
    base.inspect.histogramsEverySteps = 0;
    base.inspect.boundaryEverySteps = 3;
    base.inspect.boundaryResolution = 64;
    base.inspect.confusionMatrix = false;

    ExperimentSpec csv = base;
    csv.data.source = "csv";
    csv.data.path = "/data/train.csv";
    csv.data.testPath = "/data/test.csv";
    csv.data.labelColumn = "species";
    csv.data.header = "yes";
    csv.data.delimiter = ";";
    csv.data.skipRows = 2;
    csv.data.comment = "#";
    csv.optimizer.type = "sgd";
    csv.optimizer.momentum = 0.9;
    csv.optimizer.nesterov = true;
    csv.schedule.type = "step";
    csv.schedule.warmupSteps = 20;
    csv.schedule.stepSize = 3;
    csv.schedule.gamma = 0.5;
    csv.sweep.parameters = {{/*path*/ "optimizer.momentum", /*values*/ {"0.5", "0.9"}},
                            {/*path*/ "optimizer.type", /*values*/ {"\"sgd\""}}};
    csv.sweep.pruner = SweepPruner::Median;

    ExperimentSpec spiral = base;
    spiral.data.source = "spiral";
    spiral.data.samples = 600;
    spiral.data.classes = 3;
    spiral.data.noise = 0.3;
    spiral.optimizer.type = "adam";
    spiral.optimizer.beta1 = 0.8;
    spiral.optimizer.beta2 = 0.99;
    spiral.optimizer.eps = 1e-6;
    spiral.schedule.type = "cosine";
    spiral.schedule.minLr = 1e-5;
    spiral.sweep.method = SweepMethod::Random;
    spiral.sweep.parameters = {{/*path*/ "optimizer.lr", /*values*/ {}, /*min*/ 1e-4, /*max*/ 0.1, SweepScale::Log},
                               {/*path*/ "training.batch_size", /*values*/ {}, /*min*/ 16, /*max*/ 128,
                                SweepScale::Linear, /*integer*/ true}};
    spiral.sweep.trials = 12;
    spiral.sweep.concurrent = 2;
    spiral.sweep.metric = "val/loss";
    spiral.sweep.pruner = SweepPruner::Asha;
    spiral.sweep.reductionFactor = 4;
    spiral.sweep.minEpochs = 2;

    ExperimentSpec regression = spiral;
    regression.loss = "mse";
    regression.optimizer = base.optimizer;
    regression.optimizer.type = "rmsprop";
    regression.optimizer.momentum = 0.5;
    regression.optimizer.alpha = 0.95;
    regression.optimizer.eps = 1e-7;
    regression.schedule = ScheduleSpec{};
    regression.schedule.type = "onecycle";
    regression.schedule.pctStart = 0.4;
    regression.schedule.divFactor = 10;
    regression.schedule.finalDivFactor = 100;
    return {csv, spiral, regression};
}

} // namespace

class TestSpecJson : public QObject {
    Q_OBJECT
private slots:
    void validBaseParses()
    {
        const ParseResult r = parseExperiment(kBase);
        QVERIFY2(r.ok(), qPrintable(dump(r.problems)));
        QCOMPARE(r.spec.model.layers.size(), size_t(3));
        QCOMPARE(r.spec.model.layers[0].intOption("out_features"), int64_t(16));
        QCOMPARE(r.spec.model.layers[0].flag("bias"), true);   // torch.nn default filled in
        QCOMPARE(r.spec.optimizer.beta2, 0.999);
        QCOMPARE(r.spec.training.epochs, int64_t(2));
    }

    void badSpecs_data()
    {
        QTest::addColumn<QStringList>("overrides");
        QTest::addColumn<QString>("path");
        QTest::addColumn<QString>("words");
        auto row = [](const char* name, QStringList o, const char* path, const char* words) {
            QTest::newRow(name) << o << QString(path) << QString(words);
        };
        row("kernel zero", {"model.layers[0]={\"type\":\"conv2d\",\"out_channels\":4,\"kernel_size\":0}"},
            "model.layers[0].kernel_size", "must be >= 1, got 0");
        row("unknown layer type", {"model.layers[1].type=\"swish\""}, "model.layers[1].type", "unknown layer type");
        row("missing layer type", {"model.layers[1]={}"}, "model.layers[1].type", "missing");
        row("missing out_features", {"model.layers[0]={\"type\":\"linear\"}"}, "model.layers[0].out_features", "missing");
        row("out_features string", {"model.layers[0].out_features=\"big\""}, "model.layers[0].out_features", "must be an integer");
        row("out_features fraction", {"model.layers[0].out_features=2.5"}, "model.layers[0].out_features", "must be an integer, got 2.5");
        row("negative out_features", {"model.layers[0].out_features=-3"}, "model.layers[0].out_features", "must be >= 0, got -3");
        row("option of another type", {"model.layers[1].kernel_size=3"}, "model.layers[1].kernel_size", "unknown key; not an option of relu");
        row("dropout p above 1", {"model.layers[1]={\"type\":\"dropout\",\"p\":1.5}"}, "model.layers[1].p", "must be <= 1, got 1.5");
        row("bias not bool", {"model.layers[0].bias=\"yes\""}, "model.layers[0].bias", "must be true or false");
        row("layers not a list", {"model.layers={}"}, "model.layers", "must be a list");
        row("empty model", {"model.layers=[]"}, "model.layers", "no layers");
        row("input zero", {"model.input=[0]"}, "model.input[0]", "must be >= 1, got 0");
        row("input wrong for source", {"model.input=[3]"}, "model.input", "must be [2] for source \"spiral\"");
        row("wrong class count", {"model.layers[2].out_features=5"}, "model.layers[2]", "has 3 classes");
        row("conv on flat input", {"model.layers[0]={\"type\":\"conv2d\",\"out_channels\":4,\"kernel_size\":3}"}, "model.layers[0] (conv2d)", "expects a [channels, height, width] input, got [2]");
        row("residual without layers", {"model.layers[1]={\"type\":\"residual\"}"}, "model.layers[1].layers", "missing");
        row("unknown top key", {"epochs=3"}, "epochs", "unknown key");
        row("unknown data source", {"data.source=\"imagenet\""}, "data.source", "unknown value \"imagenet\"");
        row("data option of other source", {"data.path=\"x.csv\""}, "data.path", "unknown key; not an option of source \"spiral\"");
        row("validation fraction", {"data.validation_fraction=1.5"}, "data.validation_fraction", "must be <= 0.9");
        row("classes one", {"data.classes=1"}, "data.classes", "must be >= 2, got 1");
        row("samples string", {"data.samples=\"many\""}, "data.samples", "must be an integer");
        row("lr zero", {"optimizer.lr=0"}, "optimizer.lr", "must be > 0, got 0");
        row("momentum for adam", {"optimizer.momentum=0.9"}, "optimizer.momentum", "not an option of adam");
        row("unknown optimizer", {"optimizer.type=\"lion\""}, "optimizer.type", "unknown value \"lion\"");
        row("nesterov without momentum", {"optimizer={\"type\":\"sgd\",\"lr\":0.1,\"nesterov\":true}"}, "optimizer.nesterov", "needs momentum > 0");
        row("betas not a pair", {"optimizer.betas=[0.9]"}, "optimizer.betas", "pair of numbers");
        row("unknown schedule", {"schedule.type=\"cyclic\""}, "schedule.type", "unknown value \"cyclic\"");
        row("gamma of constant schedule", {"schedule.gamma=0.5"}, "schedule.gamma", "not an option of the constant schedule");
        row("step gamma zero", {"schedule={\"type\":\"step\",\"gamma\":0}"}, "schedule.gamma", "must be > 0");
        row("epochs zero", {"training.epochs=0"}, "training.epochs", "must be >= 1, got 0");
        row("batch size negative", {"training.batch_size=-1"}, "training.batch_size", "must be >= 1");
        row("unknown training key", {"training.lr=0.1"}, "training.lr", "unknown key; not a training option");
        row("bad device", {"training.device=\"tpu\""}, "training.device", "must be auto, cpu, cuda or cuda:N, got \"tpu\"");
        row("unknown loss", {"loss=\"hinge\""}, "loss", "unknown value \"hinge\"");
        row("mse on classes", {"loss=\"mse\""}, "loss", "mse needs regression targets");
        row("seed negative", {"seed=-4"}, "seed", "must be >= 0");
        row("wrong format", {"format=\"nnlab.experiment/9\""}, "format", "unsupported format");
        row("bad set syntax", {"training.epochs"}, "--set training.epochs", "expected key.path=value");
        row("set past a list", {"model.layers[9].out_features=3"}, "model.layers[9].out_features", "no list element [9]");
        const char* csv = "data={\"source\":\"csv\",\"path\":\"/d/x.csv\"}";
        row("skip_rows negative", {csv, "data.skip_rows=-1"}, "data.skip_rows", "must be >= 0, got -1");
        row("skip_rows fraction", {csv, "data.skip_rows=1.5"}, "data.skip_rows", "must be an integer");
        row("skip_rows text", {csv, "data.skip_rows=\"two\""}, "data.skip_rows", "must be an integer");
        row("comment number", {csv, "data.comment=3"}, "data.comment", "must be a string");
        row("comment line break", {csv, "data.comment=\"#\\n\""}, "data.comment", "must be a prefix on one line");
        row("skip_rows of spiral", {"data.skip_rows=2"}, "data.skip_rows", "unknown key; not an option of source \"spiral\"");
        row("input empty list", {"model.input=[]"}, "model.input", "or omitted to take it from the data");
        row("size from data not last", {"model.layers[0].out_features=0"}, "model.layers[0].out_features",
            "only the model's last linear layer may leave its size to the data");
        row("monitors not a list", {"monitors={}"}, "monitors", "must be a list of rules");
        row("monitor unknown metric", {"monitors=[{\"metric\":\"val/f1\",\"rule\":\"above\",\"value\":1}]"},
            "monitors[0].metric", "unknown metric \"val/f1\"");
        row("monitor unknown rule", {"monitors=[{\"rule\":\"sideways\",\"patience\":2}]"}, "monitors[0].rule",
            "unknown value \"sideways\"; one of not_finite");
        row("monitor unknown action", {"monitors=[{\"actions\":[\"stop\",\"panic\"]}]"}, "monitors[0].actions[1]",
            "unknown value \"panic\"");
        row("monitor actions empty", {"monitors=[{\"actions\":[]}]"}, "monitors[0].actions", "needs at least one action");
        row("monitor coefficient zero", {"monitors=[{\"rule\":\"above_min\",\"coefficient\":0}]"},
            "monitors[0].coefficient", "must be > 0, got 0");
        row("monitor patience zero", {"monitors=[{\"rule\":\"not_finite\"},{\"metric\":\"val/loss\",\"rule\":\"plateau\",\"patience\":0}]"},
            "monitors[1].patience", "must be >= 1, got 0");
        row("monitor window zero", {"monitors=[{\"metric\":\"samples_per_sec\",\"rule\":\"slow_throughput\",\"coefficient\":0.5,\"window\":0}]"},
            "monitors[0].window", "must be >= 1, got 0");
        row("monitor lr_factor zero", {"monitors=[{\"rule\":\"spike\",\"actions\":[\"multiply_lr\"],\"lr_factor\":0}]"},
            "monitors[0].lr_factor", "must be > 0, got 0");
        row("monitor max_rollbacks zero", {"monitors=[{\"rule\":\"above_min\",\"actions\":[\"rollback\"],\"max_rollbacks\":0}]"},
            "monitors[0].max_rollbacks", "must be >= 1, got 0");
        row("monitor lr_factor without lr action", {"monitors=[{\"actions\":[\"stop\"],\"lr_factor\":0.1}]"},
            "monitors[0].lr_factor", "unknown key; not an option of the not_finite rule");
        row("monitor patience of above", {"monitors=[{\"rule\":\"above\",\"value\":3,\"patience\":2}]"},
            "monitors[0].patience", "unknown key; not an option of the above rule");
        row("monitor accuracy with mse", {"loss=\"mse\"", "monitors=[{\"metric\":\"val/accuracy\",\"rule\":\"below\"}]"},
            "monitors[0].metric", "only measured with loss cross_entropy");
        row("monitor plateau on lr", {"monitors=[{\"metric\":\"lr\",\"rule\":\"plateau\"}]"}, "monitors[0].metric",
            "a plateau needs a metric that improves one way");
        row("monitor stop and rollback", {"monitors=[{\"actions\":[\"stop\",\"rollback\"]}]"}, "monitors[0].actions",
            "exclude each other");
        row("monitor keep best without best", {"training.best_metric=\"none\"", "monitors=[{\"actions\":[\"stop_keep_best\"]}]"},
            "monitors[0].actions", "needs a best checkpoint");
        row("size from data in a block", {csv, "model.input=[4]", "model.layers[1]={\"type\":\"residual\",\"layers\":[{\"type\":\"linear\"}]}"},
            "model.layers[1].layers[0].out_features", "only the model's last linear layer");
        const auto sweep = [](const char* parameter, const char* more = "") {
            return QString::fromStdString(std::string("sweep={\"parameters\":[") + parameter + "]" + more + "}");
        };
        row("sweep unknown method", {sweep(R"({"path":"optimizer.lr","values":[0.1]})", R"(,"method":"bayes")")},
            "sweep.method", "unknown value \"bayes\"; one of grid, random");
        row("sweep unknown path", {sweep(R"({"path":"optimizer.learning_rate","values":[0.1]})")},
            "sweep.parameters[0].values[0]", "optimizer.learning_rate=0.1: optimizer.learning_rate: unknown key");
        row("sweep bad value", {sweep(R"({"path":"optimizer.lr","values":[0.1,-1]})")},
            "sweep.parameters[0].values[1]", "optimizer.lr=-1: optimizer.lr: must be > 0, got -1");
        row("sweep log from zero", {sweep(R"({"path":"optimizer.lr","min":0,"max":1,"scale":"log"})", R"(,"method":"random")")},
            "sweep.parameters[0].min", "must be > 0 for a log scale, got 0");
        row("sweep max below min", {sweep(R"({"path":"optimizer.lr","min":0.1,"max":0.01})", R"(,"method":"random")")},
            "sweep.parameters[0].max", "must be > min (0.1), got 0.01");
        row("sweep range in a grid", {sweep(R"({"path":"optimizer.lr","min":0.01,"max":0.1})")},
            "sweep.parameters[0]", "a grid needs a list of values");
        row("sweep values and range", {sweep(R"({"path":"optimizer.lr","values":[0.1],"min":0.01})")},
            "sweep.parameters[0]", "give either values or min and max, not both");
        row("sweep no values", {sweep(R"({"path":"optimizer.lr"})")}, "sweep.parameters[0]", "needs values [...] or a range");
        row("sweep unknown parameter key", {sweep(R"({"path":"optimizer.lr","values":[0.1],"step":2})")},
            "sweep.parameters[0].step", "unknown key");
        row("sweep own section", {sweep(R"({"path":"sweep.trials","values":[2]})")}, "sweep.parameters[0].path",
            "cannot set its own section");
        row("sweep same path twice", {sweep(R"({"path":"seed","values":[1]},{"path":"seed","values":[2]})")},
            "sweep.parameters[1].path", "appears twice");
        row("sweep trials zero", {sweep(R"({"path":"seed","values":[1]})", R"(,"trials":0)")}, "sweep.trials", "must be >= 1, got 0");
        row("sweep reduction one", {sweep(R"({"path":"seed","values":[1]})", R"(,"reduction_factor":1)")},
            "sweep.reduction_factor", "must be >= 2, got 1");
        row("sweep metric", {sweep(R"({"path":"seed","values":[1]})", R"(,"metric":"lr")")}, "sweep.metric",
            "must be auto, val/accuracy, val/loss");
        row("sweep unknown pruner", {sweep(R"({"path":"seed","values":[1]})", R"(,"pruner":"hyperband")")},
            "sweep.pruner", "unknown value \"hyperband\"");
    }

    void badSpecs()
    {
        QFETCH(QStringList, overrides);
        QFETCH(QString, path);
        QFETCH(QString, words);
        std::vector<std::string> o;
        for (const auto& s : overrides)
            o.push_back(s.toStdString());
        const ParseResult r = parseExperiment(kBase, o);
        QVERIFY(!r.ok());
        QVERIFY2(mentions(r.problems, path, words), qPrintable("expected " + path + ": ..." + words + "... in\n" + dump(r.problems)));
    }

    void imageShapeErrors_data()
    {
        QTest::addColumn<QString>("set");
        QTest::addColumn<QString>("path");
        QTest::addColumn<QString>("words");
        QTest::newRow("linear needs flatten") << "model.layers[4]={\"type\":\"relu\"}" << "model.layers[5] (linear)"
                                              << "expects a flat input, got [16, 14, 14]; add a flatten layer";
        QTest::newRow("kernel too big") << "model.layers[2].kernel_size=40" << "model.layers[2].kernel_size" << "does not fit";
        QTest::newRow("pool padding") << "model.layers[2].padding=2" << "model.layers[2].padding" << "at most kernel_size / 2";
        QTest::newRow("groups") << "model.layers[0].groups=3" << "model.layers[0].groups" << "must both divide by groups 3";
        QTest::newRow("bn2d on flat") << "model.layers[5]={\"type\":\"batchnorm2d\"}" << "model.layers[5] (batchnorm2d)" << "use batchnorm1d";
        QTest::newRow("residual rank change") << "model.layers[3]={\"type\":\"residual\",\"layers\":[{\"type\":\"flatten\"}]}"
                                              << "model.layers[3] (residual)" << "must keep the rank";
        QTest::newRow("wrong score count") << "model.layers[5]={\"type\":\"relu\"}" << "model.layers[5]" << "outputs 3136 scores but source \"fashion-mnist\" has 10 classes";
        QTest::newRow("no class scores") << "model.layers[4]={\"type\":\"relu\"}" << "model.layers[5] (linear)" << "add a flatten layer";
    }

    void imageShapeErrors()
    {
        QFETCH(QString, set);
        QFETCH(QString, path);
        QFETCH(QString, words);
        const ParseResult r = parseExperiment(kImage, {set.toStdString()});
        QVERIFY2(mentions(r.problems, path, words), qPrintable(dump(r.problems)));
    }

    void everyProblemIsReported()
    {
        const ParseResult r = parseExperiment(kBase, {"training.epochs=0", "optimizer.lr=-1", "data.noise=9"});
        QCOMPARE(r.problems.size(), size_t(3));
    }

    void notJson()
    {
        const ParseResult r = parseExperiment("{\"name\": ");
        QCOMPARE(r.problems.size(), size_t(1));
        QVERIFY(QString::fromStdString(r.problems[0].message).startsWith("not valid JSON"));
    }

    void roundTrip()
    {
        for (const char* text : {kBase, kImage}) {
            const ParseResult first = parseExperiment(text);
            QVERIFY2(first.ok(), qPrintable(dump(first.problems)));
            const std::string json = experimentToJson(first.spec);
            const ParseResult second = parseExperiment(json);
            QVERIFY2(second.ok(), qPrintable(dump(second.problems)));
            QVERIFY(first.spec == second.spec);
            QCOMPARE(experimentToJson(second.spec), json);
        }
    }

    void overridesReachNestedFields()
    {
        const ParseResult r = parseExperiment(kBase, {"model.layers[0].out_features=32", "optimizer.type=sgd",
                                                      "training.epochs=7"});
        QVERIFY2(r.ok(), qPrintable(dump(r.problems)));
        QCOMPARE(r.spec.model.layers[0].intOption("out_features"), int64_t(32));
        QCOMPARE(QString::fromStdString(r.spec.optimizer.type), QString("sgd"));
        QCOMPARE(r.spec.training.epochs, int64_t(7));
    }

    void shippedExamplesAreValid()
    {
        QDir dir(QStringLiteral(NNLAB_SOURCE_DIR "/resources/experiments"));
        const auto files = dir.entryList({"*.json"});
        QVERIFY(files.size() >= 4);
        for (const auto& f : files) {
            const ParseResult r = loadExperimentFile(dir.filePath(f).toStdString());
            QVERIFY2(r.ok(), qPrintable(f + ": " + dump(r.problems)));
        }
    }

    void defaultExperimentMatchesItsFile()
    {
        const ParseResult r = loadExperimentFile(NNLAB_SOURCE_DIR "/resources/experiments/fashion-cnn.json");
        QVERIFY(r.ok());
        QVERIFY2(r.spec == defaultExperiment(), experimentToJson(r.spec).c_str());
        QVERIFY(validateExperiment(defaultExperiment()).empty());
    }

    void saveIsAtomicAndReadable()
    {
        QTemporaryDir dir;
        const std::string path = dir.filePath("e.json").toStdString();
        QCOMPARE(QString::fromStdString(saveExperimentFile(defaultExperiment(), path)), QString());
        QVERIFY(loadExperimentFile(path).spec == defaultExperiment());
        QVERIFY(!QFile::exists(QString::fromStdString(path + ".tmp")));
        const std::string bad = saveExperimentFile(defaultExperiment(), dir.filePath("missing/e.json").toStdString());
        QVERIFY(QString::fromStdString(bad).contains("missing/e.json"));
    }

    void missingFileNamesIt()
    {
        const ParseResult r = loadExperimentFile("/nonexistent/x.json");
        QCOMPARE(QString::fromStdString(r.problems.at(0).path), QString("/nonexistent/x.json"));
    }

    void csvSkipRowsAndCommentRoundTrip()
    {
        const ParseResult r = parseExperiment(kBase, {"data={\"source\":\"csv\",\"path\":\"/d/x.csv\",\"skip_rows\":2,\"comment\":\"#\"}"});
        QVERIFY2(r.ok(), qPrintable(dump(r.problems)));
        QCOMPARE(r.spec.data.skipRows, int64_t(2));
        QCOMPARE(r.spec.data.comment, std::string("#"));
        const std::string json = experimentToJson(r.spec);
        QVERIFY(json.find("\"skip_rows\": 2") != std::string::npos);
        QVERIFY(json.find("\"comment\": \"#\"") != std::string::npos);
        const ParseResult back = parseExperiment(json);
        QVERIFY2(back.ok(), qPrintable(dump(back.problems)));
        QVERIFY(back.spec == r.spec);
        // Defaults: nothing skipped.
        const ParseResult plain = parseExperiment(kBase, {"data={\"source\":\"csv\",\"path\":\"/d/x.csv\"}"});
        QCOMPARE(plain.spec.data.skipRows, int64_t(0));
        QCOMPARE(plain.spec.data.comment, std::string());
    }

    // A model for a CSV: the input shape and the class count come from the data.
    void inputAndClassCountFromTheData()
    {
        const char* text = R"({
          "name": "table", "data": {"source": "csv", "path": "/d/iris.csv"},
          "model": {"layers": [{"type": "linear", "out_features": 8}, {"type": "relu"},
                               {"type": "linear"}, {"type": "dropout", "p": 0.1}]}})";
        const ParseResult r = parseExperiment(text);
        QVERIFY2(r.ok(), qPrintable(dump(r.problems)));
        QVERIFY(r.spec.model.input.empty());
        QCOMPARE(r.spec.model.layers[2].intOption("out_features"), int64_t(0));
        QVERIFY(dependsOnData(r.spec.model));
        QVERIFY(r.model.ok);
        QVERIFY(!r.model.shapesKnown);
        QCOMPARE(r.model.layers.size(), size_t(4));
        QVERIFY(r.model.layers[0].outputShape.empty());

        // Written back as it was given: no input, no out_features on the output layer.
        const std::string json = experimentToJson(r.spec);
        QVERIFY2(json.find("\"input\"") == std::string::npos, json.c_str());
        QCOMPARE(QString::fromStdString(json).count("out_features"), 1);
        QVERIFY(parseExperiment(json).spec == r.spec);

        const ExperimentSpec done = completeFromData(r.spec, {4}, 3, 0);
        QCOMPARE(done.model.input, (std::vector<int64_t>{4}));
        QCOMPARE(done.model.layers[2].intOption("out_features"), int64_t(3));
        QVERIFY(!dependsOnData(done.model));
        Problems problems;
        const ModelInfo info = inspectModel(done.model, problems);
        QVERIFY2(problems.empty(), qPrintable(dump(problems)));
        QVERIFY(info.shapesKnown);
        QCOMPARE(info.outputShape, (std::vector<int64_t>{3}));
        QCOMPARE(info.parameters, int64_t(4 * 8 + 8 + 8 * 3 + 3));

        // Regression: the output size is the number of targets; given sizes stay as they are.
        ExperimentSpec mse = r.spec;
        mse.loss = "mse";
        QCOMPARE(completeFromData(mse, {4}, 0, 1).model.layers[2].intOption("out_features"), int64_t(1));
        QCOMPARE(completeFromData(done, {9}, 5, 0).model.input, (std::vector<int64_t>{4}));
        QCOMPARE(completeFromData(done, {9}, 5, 0).model.layers[2].intOption("out_features"), int64_t(3));
    }

    // A built-in source fixes the input shape and the classes: validation fills them in.
    void builtInSourceFillsWhatIsLeftToTheData()
    {
        const ParseResult r = parseExperiment(kBase, {"model={\"layers\":[{\"type\":\"linear\",\"out_features\":16},{\"type\":\"linear\"}]}"});
        QVERIFY2(r.ok(), qPrintable(dump(r.problems)));
        QVERIFY(r.model.shapesKnown);
        QCOMPARE(r.model.outputShape, (std::vector<int64_t>{3}));
        QCOMPARE(r.model.layers[0].inputShape, (std::vector<int64_t>{2}));
    }

    // Data paths in a file are relative to the file's folder, wherever nnlab runs.
    void dataPathsAreRelativeToTheFile()
    {
        QTemporaryDir dir;
        QVERIFY(QDir(dir.path()).mkpath("project/experiments"));
        const QString folder = dir.filePath("project/experiments");
        const std::string file = (folder + "/e.json").toStdString();
        {
            std::ofstream out(file);
            out << R"({"name": "t", "data": {"source": "csv", "path": "../data/train.csv", "test_path": "test.csv"},
                       "model": {"input": [2], "layers": [{"type": "linear", "out_features": 2}]}})";
        }
        const QString project = QDir::cleanPath(dir.filePath("project"));
        for (const QString& cwd : {dir.path(), folder, QStringLiteral("/")}) {
            const QString before = QDir::currentPath();
            QVERIFY(QDir::setCurrent(cwd));
            const ParseResult r = loadExperimentFile(file);
            QDir::setCurrent(before);
            QVERIFY2(r.ok(), qPrintable(dump(r.problems)));
            QCOMPARE(QString::fromStdString(r.spec.data.path), project + "/data/train.csv");
            QCOMPARE(QString::fromStdString(r.spec.data.testPath), project + "/experiments/test.csv");
        }
        // A --set path is a command-line argument: relative to the working directory.
        const ParseResult set = loadExperimentFile(file, {"data.test_path=other.csv"});
        QCOMPARE(set.spec.data.testPath, std::string("other.csv"));

        // Saved elsewhere, the file still names the same data: relative where the two share
        // a folder below the root, else absolute.
        const ParseResult r = loadExperimentFile(file);
        QVERIFY(QDir(dir.path()).mkpath("project/copies/deeper"));
        const std::string copy = dir.filePath("project/copies/deeper/e.json").toStdString();
        ExperimentSpec spec = r.spec;
        spec.data.testPath = "/usr/share/datasets/x.csv";
        QCOMPARE(saveExperimentFile(spec, copy), std::string());
        std::ifstream in(copy);
        const std::string written((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        QVERIFY2(written.find("\"path\": \"../../data/train.csv\"") != std::string::npos, written.c_str());
        QVERIFY2(written.find("\"test_path\": \"/usr/share/datasets/x.csv\"") != std::string::npos, written.c_str());
        const ParseResult again = loadExperimentFile(copy);
        QCOMPARE(again.spec.data.path, r.spec.data.path);
        QVERIFY(again.spec == spec);

        // Saved back where it came from, the file says what it said.
        QCOMPARE(saveExperimentFile(r.spec, file), std::string());
        std::ifstream back(file);
        const std::string same((std::istreambuf_iterator<char>(back)), std::istreambuf_iterator<char>());
        QVERIFY2(same.find("\"path\": \"../data/train.csv\"") != std::string::npos, same.c_str());
        QVERIFY2(same.find("\"test_path\": \"test.csv\"") != std::string::npos, same.c_str());

        // Built in memory, nothing is resolved: the working directory applies.
        QCOMPARE(parseExperiment(experimentToJson(set.spec)).spec.data.testPath, std::string("other.csv"));
    }
    // A field the serializer drops, or reads back into the wrong place, fails here: each
    // experiment sets every field it can hold, and together they set every field there is.
    void everyFieldRoundTrips()
    {
        const std::vector<ExperimentSpec> specs = everyFieldSet();
        std::vector<bool> experiment, data, model, layer, optimizer, schedule, training, monitor;
        std::vector<bool> sweep, sweepParameter, inspect;
        const auto markLayers = [&](const auto& self, const std::vector<LayerSpec>& layers) -> void {
            for (const auto& l : layers) {
                markDiffering(l, LayerSpec{}, layer);
                self(self, l.layers);
            }
        };
        for (const ExperimentSpec& spec : specs) {
            const ParseResult parsed = parseExperiment(experimentToJson(spec));
            QVERIFY2(parsed.complete, qPrintable(dump(parsed.problems)));
            QVERIFY2(parsed.spec == spec, experimentToJson(spec).c_str());
            markDiffering(spec, ExperimentSpec{}, experiment);
            markDiffering(spec.data, DataSpec{}, data);
            markDiffering(spec.model, ModelSpec{}, model);
            markLayers(markLayers, spec.model.layers);
            markDiffering(spec.optimizer, OptimizerSpec{}, optimizer);
            markDiffering(spec.schedule, ScheduleSpec{}, schedule);
            markDiffering(spec.training, TrainingSpec{}, training);
            for (const MonitorSpec& m : spec.monitors)
                markDiffering(m, MonitorSpec{}, monitor);
            markDiffering(spec.sweep, SweepSpec{}, sweep);
            for (const SweepParameter& p : spec.sweep.parameters)
                markDiffering(p, SweepParameter{}, sweepParameter);
            markDiffering(spec.inspect, InspectSpec{}, inspect);
        }
        const std::vector<std::pair<const char*, const std::vector<bool>*>> structs{
            {"ExperimentSpec", &experiment}, {"DataSpec", &data}, {"ModelSpec", &model}, {"LayerSpec", &layer},
            {"OptimizerSpec", &optimizer}, {"ScheduleSpec", &schedule}, {"TrainingSpec", &training},
            {"MonitorSpec", &monitor}, {"SweepSpec", &sweep}, {"SweepParameter", &sweepParameter},
            {"InspectSpec", &inspect}};
        for (const auto& [name, set] : structs)
            for (size_t i = 0; i < set->size(); ++i)
                QVERIFY2((*set)[i], qPrintable(QStringLiteral("%1: field %2 (0-based, in declaration order) is "
                                                              "never set to a non-default value").arg(name).arg(i)));
    }

    // An omitted "monitors" is the default rule (and is written back omitted); [] is none.
    void monitorsDefaultAndNone()
    {
        const ParseResult omitted = parseExperiment(kBase);
        QVERIFY(omitted.spec.monitors == defaultMonitors());
        QVERIFY(experimentToJson(omitted.spec).find("monitors") == std::string::npos);
        const ParseResult none = parseExperiment(kBase, {"monitors=[]"});
        QVERIFY2(none.ok(), qPrintable(dump(none.problems)));
        QVERIFY(none.spec.monitors.empty());
        const std::string json = experimentToJson(none.spec);
        QVERIFY2(json.find("\"monitors\": []") != std::string::npos, json.c_str());
        QVERIFY(parseExperiment(json).spec == none.spec);
        // Defaults of a rule stay implicit; the threshold's own number is written.
        const ParseResult rule = parseExperiment(kBase, {R"(monitors=[{"metric":"val/loss","rule":"plateau","actions":["stop_keep_best"]}])"});
        QVERIFY2(rule.ok(), qPrintable(dump(rule.problems)));
        QCOMPARE(rule.spec.monitors.at(0).patience, int64_t(5));
        const std::string written = experimentToJson(rule.spec);
        QVERIFY2(written.find("patience") == std::string::npos && written.find("stop_keep_best") != std::string::npos,
                 written.c_str());
    }

    // Equality sees every field, each on its own, nested ones included.
    void equalityComparesEachField()
    {
        for (const ExperimentSpec& spec : everyFieldSet()) {
            QVERIFY(spec == spec);
            ExperimentSpec other = spec;
            other.training.deterministic = !other.training.deterministic;
            QVERIFY(other != spec);
            other = spec;
            other.data.comment += "x";
            QVERIFY(other != spec);
            other = spec;
            other.model.layers[1].layers[1].options["negative_slope"] = 0.3;
            QVERIFY(other != spec);
            other = spec;
            other.model.layers[1].layers[0].name = "renamed";
            QVERIFY(other != spec);
            // A field the file does not hold for this optimizer still counts.
            other = spec;
            other.optimizer.beta1 = other.optimizer.type == "sgd" ? 0.7 : other.optimizer.beta1;
            other.optimizer.nesterov = other.optimizer.type != "sgd" ? !other.optimizer.nesterov : other.optimizer.nesterov;
            QVERIFY(other != spec);
        }
    }
};

QTEST_APPLESS_MAIN(TestSpecJson)
#include "test_spec_json.moc"
