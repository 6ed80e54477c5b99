// `nnlab-cli predict RUN INPUT`: class probabilities (or regression outputs) for a folder of
// images, an image, an IDX or CIFAR file, a CSV or JSON lines, written as CSV or JSON.
#include "model_commands.h"

#include "cli_args.h"
#include "model_source.h"
#include "progress_bar.h"

#include "nnlab/atomic_file.h"
#include "nnlab/data.h"
#include "nnlab/predict_input.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <sstream>

namespace nnlab::cli {

namespace {

const char* kPredictHelp = R"(Usage: nnlab-cli predict RUN INPUT [--out FILE] [--format csv|json] [options]

Runs a trained model on new data and writes one row per sample: the predicted class, its
probability and every class's probability (regression: the outputs). Inputs are raw, in the
units the training data had (pixels 0..255, CSV values as written); the training data's
normalization is applied automatically.

RUN is a run id or a unique prefix of one, or a FILE.safetensors from `nnlab-cli export`.
INPUT is one of:
  a folder of images     PNG, JPEG, BMP, GIF (converted to the model's channels and resized
                         to its height and width)
  an image file          one image
  an IDX file            *idx3* (gzip'd too); labels beside it (*labels-idx1*) are read as well
  a CIFAR-10 batch       *.bin
  a CSV                  the model's features per row, plus optionally a label column
  JSON lines             *.jsonl: one sample a line, an array (nested or flat) or {"input": ...}
When the input has labels, the accuracy is printed at the end.

Options:
  --out FILE              write here (atomically) instead of standard output
  --format csv|json       csv (default): input,prediction,confidence,<one column per class>;
                          json: an array of {"input", "prediction", "confidence", "probabilities"}
  --batch N               samples per forward pass (default 256)
  --threads N             intra-op threads (default: LibTorch's)
  --checkpoint best|latest  which weights of a run (default best, when it kept one)
  --label-column C        CSV: the label column's name or index (default: the last column, when
                          there is one more column than the model takes)
  --delimiter D           CSV: one character (default ',')
  --db PATH               run store file (default $NNLAB_DB, else ~/.local/share/nnlab/runs.db)
  --quiet                 no progress bar
  -h, --help              this help

Exit status: 0 done, 1 failed, 2 bad arguments, unknown run or unreadable input.
)";

std::string csvField(const std::string& text)
{
    if (text.find_first_of(",\"\n\r") == std::string::npos)
        return text;
    std::string quoted = "\"";
    for (char c : text)
        quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
    return quoted + "\"";
}

std::string number(float value)
{
    char text[32];
    std::snprintf(text, sizeof text, "%.6g", double(value));
    return text;
}

struct Table {
    const PredictInput& input;
    const ModelInterface& interface;
    const std::vector<float>& outputs;   // count x k
    int64_t k = 0;

    int64_t top(int64_t i) const
    {
        const float* row = outputs.data() + i * k;
        return std::max_element(row, row + k) - row;
    }
    std::string columnName(int64_t j) const
    {
        return interface.classification() ? interface.classNames[size_t(j)] : "output_" + std::to_string(j);
    }

    std::string csv() const
    {
        std::ostringstream out;
        out << "input";
        if (interface.classification())
            out << ",prediction,confidence";
        for (int64_t j = 0; j < k; ++j)
            out << ',' << csvField(columnName(j));
        out << '\n';
        for (int64_t i = 0; i < input.count(); ++i) {
            out << csvField(input.names[size_t(i)]);
            if (interface.classification())
                out << ',' << csvField(columnName(top(i))) << ',' << number(outputs[size_t(i * k + top(i))]);
            for (int64_t j = 0; j < k; ++j)
                out << ',' << number(outputs[size_t(i * k + j)]);
            out << '\n';
        }
        return out.str();
    }

    std::string json() const
    {
        nlohmann::json rows = nlohmann::json::array();
        for (int64_t i = 0; i < input.count(); ++i) {
            nlohmann::json row = {{"input", input.names[size_t(i)]}};
            nlohmann::json values = nlohmann::json::object();
            for (int64_t j = 0; j < k; ++j)
                values[columnName(j)] = outputs[size_t(i * k + j)];
            if (interface.classification()) {
                row["prediction"] = columnName(top(i));
                row["confidence"] = outputs[size_t(i * k + top(i))];
                row["probabilities"] = values;
            } else {
                row["outputs"] = values;
            }
            rows.push_back(row);
        }
        return rows.dump(1) + "\n";
    }
};

} // namespace

int predictCommand(std::vector<std::string> argv)
{
    Args args(std::move(argv));
    if (args.wantsHelp()) {
        std::fputs(kPredictHelp, stdout);
        return kExitOk;
    }
    const ModelSourceOptions source = modelSourceOptions(args);
    const auto out = args.value("--out");
    const std::string format = args.value("--format").value_or("csv");
    const std::string batchText = args.value("--batch").value_or("256");
    const std::string threadsText = args.value("--threads").value_or("0");
    PredictInputOptions inputOptions;
    inputOptions.labelColumn = args.value("--label-column").value_or("");
    const std::string delimiter = args.value("--delimiter").value_or(",");
    const bool quiet = args.flag("--quiet");
    std::string error;
    const std::vector<std::string> positionals = args.positionals(error);
    if (!error.empty() || !args.missingValue().empty())
        return usageError("predict", error.empty() ? args.missingValue() + " needs a value" : error);
    if (positionals.size() != 2)
        return usageError("predict", "expected RUN and INPUT");
    if (format != "csv" && format != "json")
        return usageError("predict", "--format: '" + format + "' is not csv or json");
    if (delimiter.size() != 1)
        return usageError("predict", "--delimiter: expected one character, got '" + delimiter + "'");
    inputOptions.delimiter = delimiter[0];
    int64_t batch = 0, threads = 0;
    try {
        batch = std::stoll(batchText);
        threads = std::stoll(threadsText);
    } catch (const std::exception&) {
        return usageError("predict", "--batch and --threads take whole numbers");
    }
    if (batch < 1 || batch > 65536 || threads < 0 || threads > 1024)
        return usageError("predict", "--batch must be 1..65536 and --threads 0..1024");
    if (!source.ok())
        return usageError("predict", source.error);

    LoadedModel model;
    if (const int status = loadModel(positionals[0], source, model); status != kExitOk)
        return status;
    ProgressBar bar(!quiet);
    inputOptions.progress = [&](int64_t done, int64_t total) { bar.updateItems(done, total, "images read"); };
    PredictInput input;
    try {
        input = readPredictInput(positionals[1], model.weights.interface, inputOptions);
    } catch (const std::exception& e) {
        bar.finish();
        std::fprintf(stderr, "nnlab-cli predict: %s\n", e.what());
        return kExitUsage;
    }
    bar.finish();

    std::vector<float> outputs;
    int64_t k = 0;
    try {
        const Predictor predictor(model.weights, int(threads));
        k = predictor.outputs();
        ProgressBar predicting(!quiet);
        const int64_t size = model.weights.interface.sampleSize();
        for (int64_t start = 0; start < input.count(); start += batch) {
            const int64_t n = std::min(batch, input.count() - start);
            const std::vector<float> part = predictor.predict(input.features.data() + start * size, n);
            outputs.insert(outputs.end(), part.begin(), part.end());
            predicting.updateItems(start + n, input.count(), "samples");
        }
        predicting.finish();
    } catch (const std::exception& e) {
        std::fprintf(stderr, "nnlab-cli predict: %s\n", e.what());
        return kExitFailed;
    }

    const Table table{input, model.weights.interface, outputs, k};
    const std::string text = format == "json" ? table.json() : table.csv();
    if (out) {
        try {
            writeFileAtomically(*out, text);
        } catch (const std::runtime_error& e) {
            std::fprintf(stderr, "nnlab-cli predict: %s\n", e.what());
            return kExitFailed;
        }
    } else {
        std::fwrite(text.data(), 1, text.size(), stdout);
    }
    int64_t labelled = 0, right = 0;
    for (int64_t i = 0; i < int64_t(input.labels.size()); ++i)
        if (input.labels[size_t(i)] >= 0) {
            ++labelled;
            right += table.top(i) == input.labels[size_t(i)];
        }
    std::fprintf(stderr, "%s: %lld samples from %s (%s)%s\n", model.description.c_str(),
                 static_cast<long long>(input.count()), positionals[1].c_str(), toString(input.kind),
                 out ? (", written to " + *out).c_str() : "");
    if (labelled > 0 && model.weights.interface.classification())
        std::fprintf(stderr, "accuracy %.4f on %lld labelled samples\n", double(right) / double(labelled),
                     static_cast<long long>(labelled));
    return kExitOk;
}

} // namespace nnlab::cli
