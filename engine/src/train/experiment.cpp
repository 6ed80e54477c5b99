#include "nnlab/experiment.h"

namespace nnlab {

std::string Preparation::errorText() const
{
    std::string text;
    for (const auto& p : problems)
        text += p.text() + "\n";
    return text;
}

uint64_t layoutHash(const ExperimentSpec& spec, const ModelInfo& model)
{
    std::string text = spec.optimizer.type + spec.loss;
    for (const auto& row : model.layers)
        text += row.name + row.type + shapeText(row.outputShape) + std::to_string(row.parameters);
    uint64_t h = 1469598103934665603ull;
    for (unsigned char c : text)
        h = (h ^ c) * 1099511628211ull;
    return h & 0x7fffffffffffffffull;
}

namespace {

Preparation prepared(const ExperimentSpec& spec, const ModelInfo& model, Problems problems)
{
    Preparation out;
    out.problems = std::move(problems);
    out.experiment.spec = spec;
    out.experiment.model = model;
    if (out.ok())
        out.experiment.layoutHash = layoutHash(spec, model);
    return out;
}

// The model and the loaded data agree: input shape, and outputs per class or target.
Problems checkFit(const PreparedExperiment& e, const DataBundle& data)
{
    Problems p;
    const Shape& output = e.model.outputShape;
    if (data.train.count() == 0)
        p.push_back({"data", "the training split is empty; raise data.train_limit or lower data.validation_fraction"});
    else if (data.train.sampleShape != e.spec.model.input)
        p.push_back({"model.input", shapeText(e.spec.model.input) + " does not match the data's samples "
                                        + shapeText(data.train.sampleShape) + " (" + data.description + ")"});
    else if (e.spec.isClassification() && output != Shape{data.numClasses})
        p.push_back({"model.layers", "the model outputs " + shapeText(output) + " but the data has "
                                         + std::to_string(data.numClasses) + " classes"});
    else if (!e.spec.isClassification() && output != Shape{data.train.targetDim})
        p.push_back({"model.layers", "the model outputs " + shapeText(output) + " but the data has "
                                         + std::to_string(data.train.targetDim) + " regression target(s)"});
    return p;
}

} // namespace

Preparation prepareExperiment(const ExperimentSpec& spec)
{
    ModelInfo model;
    Problems problems = validateExperiment(spec, &model);
    return prepared(spec, model, std::move(problems));
}

Preparation prepareExperiment(const ParseResult& parsed)
{
    if (!parsed.complete) {
        Preparation out;
        out.problems = parsed.problems;
        return out;
    }
    return prepared(parsed.spec, parsed.model, parsed.problems);
}

Preparation fitToData(const PreparedExperiment& experiment, const DataBundle& data)
{
    Preparation out;
    out.experiment = experiment;
    if (dependsOnData(experiment.spec.model)) {
        // What the model leaves to the data, filled in; its shapes and layout follow.
        out.experiment.spec = completeFromData(experiment.spec, data);
        out.experiment.model = inspectModel(out.experiment.spec.model, out.problems);
        out.experiment.layoutHash = layoutHash(out.experiment.spec, out.experiment.model);
        if (!out.ok())
            return out;
    }
    out.problems = checkFit(out.experiment, data);
    out.experiment.fitted = out.ok();
    return out;
}

} // namespace nnlab
