// The benchmark's jobs, and what the Python peer reads: nnlab's prepared arrays, the model
// as a layer tree with nnlab's inferred shapes, and the learning rate of every step.
#include "bench_speed.h"

#include "nnlab/data.h"
#include "nnlab/model_info.h"
#include "nnlab/spec_json.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <stdexcept>

namespace bench {

namespace fs = std::filesystem;

std::vector<Job> allJobs(bool quick)
{
    // Sized so that the whole default run (3 repetitions, auto and 1 thread) takes about five
    // minutes on 2 cores; the residual CNN trains on a subset for one epoch, the others as shipped.
    if (quick)
        return {
            {"spiral", "spiral-mlp.json", "spiral MLP 2-64-64-3", {"training.epochs=5"}},
            {"cnn", "fashion-cnn.json", "Fashion-MNIST CNN", {"data.train_limit=3000", "training.epochs=1"}},
            {"resnet", "fashion-resnet.json", "residual CNN", {"data.train_limit=1000", "training.epochs=1"}},
        };
    return {
        {"spiral", "spiral-mlp.json", "spiral MLP 2-64-64-3", {}},
        {"cnn", "fashion-cnn.json", "Fashion-MNIST CNN", {}},
        {"resnet", "fashion-resnet.json", "residual CNN", {"data.train_limit=4000", "training.epochs=1"}},
    };
}

namespace {

template <typename T>
void writeArray(const fs::path& file, const std::vector<T>& values)
{
    std::ofstream out(file, std::ios::binary);
    out.write(reinterpret_cast<const char*>(values.data()), static_cast<std::streamsize>(values.size() * sizeof(T)));
    if (!out)
        throw std::runtime_error("cannot write " + file.string());
}

Json writeSplit(const fs::path& folder, const std::string& name, const nnlab::Dataset& d)
{
    if (d.count() > 0) {
        writeArray(folder / (name + "_x.f32"), d.features);
        if (!d.labels.empty())
            writeArray(folder / (name + "_y.i64"), d.labels);
        else
            writeArray(folder / (name + "_y.f32"), d.targets);
    }
    return Json{{"count", d.count()}, {"target_dim", d.targetDim}};
}

// The layer tree with nnlab's shapes, so the peer builds the same modules in the same order.
class TreeWriter {
public:
    explicit TreeWriter(const nnlab::ModelInfo& info)
    {
        for (const auto& row : info.layers)
            (row.type == "shortcut" ? m_shortcuts : m_rows)[row.path] = &row;
    }

    Json sequence(const std::vector<nnlab::LayerSpec>& layers, const std::string& path, Json& convs)
    {
        Json out = Json::array();
        for (size_t i = 0; i < layers.size(); ++i) {
            const std::string at = path + "[" + std::to_string(i) + "]";
            const nnlab::LayerSpec& s = layers[i];
            const nnlab::LayerInfo& row = *m_rows.at(at);
            Json node{{"type", s.type}, {"options", s.options}, {"in", row.inputShape}, {"out", row.outputShape}};
            if (s.type == "conv2d")
                convs.push_back(convShape(row.inputShape, s.intOption("out_channels"), s.intOption("kernel_size"),
                                          s.intOption("stride"), s.intOption("padding")));
            if (s.type == "residual") {
                node["layers"] = sequence(s.layers, at + ".layers", convs);
                if (auto it = m_shortcuts.find(at); it != m_shortcuts.end()) {
                    const auto& in = it->second->inputShape;
                    const auto& outShape = it->second->outputShape;
                    node["shortcut"] = Json{{"in", in}, {"out", outShape}};
                    if (in.size() == 3)
                        convs.push_back(convShape(in, outShape[0], 1, (in[1] + outShape[1] - 1) / outShape[1], 0));
                }
            }
            out.push_back(std::move(node));
        }
        return out;
    }

private:
    static Json convShape(const nnlab::Shape& in, int64_t out, int64_t k, int64_t stride, int64_t padding)
    {
        return Json{{"in_channels", in[0]}, {"height", in[1]}, {"width", in[2]}, {"out_channels", out},
                    {"kernel", k}, {"stride", stride}, {"padding", padding}};
    }

    std::map<std::string, const nnlab::LayerInfo*> m_rows;
    std::map<std::string, const nnlab::LayerInfo*> m_shortcuts;
};

} // namespace

PreparedJob prepareJob(const Job& job, const std::string& workDir)
{
    const std::string file = std::string(NNLAB_SOURCE_DIR) + "/resources/experiments/" + job.file;
    const nnlab::ParseResult parsed = nnlab::loadExperimentFile(file, job.overrides);
    if (!parsed.ok())
        throw std::runtime_error(file + ": " + parsed.errorText());
    const nnlab::ExperimentSpec& spec = parsed.spec;
    const nnlab::DataBundle data = nnlab::loadData(spec.data, spec.isClassification(), spec.seed);
    nnlab::Problems problems;
    const nnlab::ModelInfo info = nnlab::inspectModel(spec.model, problems);

    const fs::path folder = fs::path(workDir) / job.key;
    fs::create_directories(folder);
    PreparedJob p;
    p.job = job;
    p.folder = folder.string();
    p.specFile = (folder / "experiment.json").string();
    p.trainSamples = data.train.count();
    p.epochs = spec.training.epochs;
    p.macsPerSample = info.macs;
    p.parameters = info.parameters;
    p.description = data.description;
    const std::string error = nnlab::saveExperimentFile(spec, p.specFile);
    if (!error.empty())
        throw std::runtime_error(error);

    const int64_t batch = spec.training.batchSize;
    const int64_t stepsPerEpoch = (data.train.count() + batch - 1) / batch;
    const int64_t totalSteps = stepsPerEpoch * spec.training.epochs;
    std::vector<double> lr;
    for (int64_t step = 0; step < totalSteps; ++step)
        lr.push_back(nnlab::learningRateAt(spec.schedule, spec.optimizer.lr, step, totalSteps, stepsPerEpoch));
    writeArray(folder / "lr.f64", lr);

    Json convs = Json::array();
    TreeWriter tree(info);
    Json meta;
    meta["experiment"] = Json::parse(nnlab::experimentToJson(spec));
    meta["classification"] = spec.isClassification();
    meta["sample_shape"] = data.train.sampleShape;
    meta["splits"] = {{"train", writeSplit(folder, "train", data.train)},
                      {"validation", writeSplit(folder, "validation", data.validation)},
                      {"test", writeSplit(folder, "test", data.test)}};
    meta["layers"] = tree.sequence(spec.model.layers, "model.layers", convs);
    std::ofstream(folder / "meta.json") << meta.dump(1) << "\n";

    // Distinct conv shapes at the training batch size, for the peak micro-benchmark.
    std::set<std::string> seen;
    p.convShapes = Json::array();
    for (auto& c : convs) {
        c["batch"] = batch;
        if (seen.insert(c.dump()).second)
            p.convShapes.push_back(c);
    }
    return p;
}

} // namespace bench
