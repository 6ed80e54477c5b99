// `nnlab-cli export RUN --format safetensors|onnx|pytorch --out FILE`.
#include "model_commands.h"

#include "cli_args.h"
#include "model_source.h"

#include "nnlab/atomic_file.h"
#include "nnlab/model_export.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <stdexcept>

namespace nnlab::cli {

namespace {

const char* kExportHelp = R"(Usage: nnlab-cli export RUN --format safetensors|onnx|pytorch [--out FILE] [options]

Writes a stored run's trained model for other tools. Every format takes the same raw inputs
as `predict` and `serve` (pixels 0..255, CSV values as written): the training data's
normalization is part of the export.
  safetensors  the weights under their state-dict names ("0.weight", "3.body.0.weight"), with
               the experiment and the input interface (shape, normalization, classes) in the
               metadata; `nnlab-cli predict FILE.safetensors` and `train --init-weights` read it
  onnx         an ONNX graph (opset 17): normalization first, outputs "logits" and, for
               classifiers, "probabilities"; runs in ONNX Runtime, OpenCV DNN and others
  pytorch      FILE.py, a readable nn.Module that rebuilds the network, and FILE.safetensors
               beside it; `python3 FILE.py` loads it with PyTorch

A compression result exports too: a pruned run not fine-tuned from its model file (sparse
files expanded), with its own smaller experiment when pruned structurally. An int8 result
keeps no float weights: `--format safetensors` copies its int8 file (nnlab.int8/1); ONNX
and PyTorch are refused (exit 2).

RUN is a run id or a unique prefix of one (see `nnlab-cli runs list`).

Options:
  --format F              safetensors, onnx or pytorch (required)
  --out FILE              where to write (default: <run name>-<id>.<ext> in this folder)
  --checkpoint best|latest  which weights: the best checkpoint (default, when the run kept one)
                          or the latest
  --db PATH               run store file (default $NNLAB_DB, else ~/.local/share/nnlab/runs.db)
  -h, --help              this help

Exit status: 0 written, 1 failed, 2 bad arguments or unknown run.
)";

const char* extensionOf(ExportFormat format)
{
    switch (format) {
    case ExportFormat::Safetensors: return ".safetensors";
    case ExportFormat::Onnx: return ".onnx";
    case ExportFormat::Pytorch: return ".py";
    }
    return "";
}

} // namespace

int exportCommand(std::vector<std::string> argv)
{
    Args args(std::move(argv));
    if (args.wantsHelp()) {
        std::fputs(kExportHelp, stdout);
        return kExitOk;
    }
    ModelSourceOptions source = modelSourceOptions(args);
    const auto formatText = args.value("--format");
    const auto out = args.value("--out");
    std::string error;
    const std::vector<std::string> positionals = args.positionals(error);
    if (!error.empty() || !args.missingValue().empty())
        return usageError("export", error.empty() ? args.missingValue() + " needs a value" : error);
    if (positionals.size() != 1)
        return usageError("export", "expected one RUN");
    if (!formatText)
        return usageError("export", "--format is required: safetensors, onnx or pytorch");
    const auto format = exportFormatFromString(*formatText);
    if (!format)
        return usageError("export", "--format: '" + *formatText + "' is not one of safetensors, onnx, pytorch");
    if (!source.ok())
        return usageError("export", source.error);

    // An int8 compression result has no float weights: safetensors is its own file, copied.
    if (const Int8Result int8 = int8ResultOf(positionals[0], source); int8.found()) {
        if (*format != ExportFormat::Safetensors) {
            std::fprintf(stderr,
                         "nnlab-cli export: run %s (%s) is an int8 compression result (method %s, model file %s): "
                         "--format %s needs float weights, which it does not keep; `--format safetensors` copies "
                         "its int8 file (nnlab.int8/1), or export its float parent run %s\n",
                         int8.runId.c_str(), int8.runName.c_str(), int8.method.empty() ? "int8" : int8.method.c_str(),
                         int8.path.c_str(), formatText->c_str(), int8.parentId.c_str());
            return kExitUsage;
        }
        TrainedWeights named;   // for the default file name only
        named.runId = int8.runId;
        named.runName = int8.runName;
        const std::string path = out ? *out : defaultExportName(named, ".int8.safetensors");
        try {
            std::ifstream in(int8.path, std::ios::binary);
            if (!in)
                throw std::runtime_error("cannot open " + int8.path);
            writeFileAtomically(path, [&in](std::ostream& o) { o << in.rdbuf(); });
            std::printf("wrote %s (%s bytes; the int8 model of run %s, format nnlab.int8/1)\n", path.c_str(),
                        formatCount(int64_t(std::filesystem::file_size(path))).c_str(), int8.runId.c_str());
        } catch (const std::exception& e) {
            std::fprintf(stderr, "nnlab-cli export: %s\n", e.what());
            return kExitFailed;
        }
        return kExitOk;
    }

    LoadedModel model;
    if (const int status = loadModel(positionals[0], source, model); status != kExitOk)
        return status;
    const std::string path = out ? *out : defaultExportName(model.weights, extensionOf(*format));
    try {
        for (const std::string& file : exportModel(model.weights, *format, path))
            std::printf("wrote %s (%s bytes)\n", file.c_str(),
                        formatCount(int64_t(std::filesystem::file_size(file))).c_str());
    } catch (const std::exception& e) {
        std::fprintf(stderr, "nnlab-cli export: %s\n", e.what());
        return kExitFailed;
    }
    return kExitOk;
}

} // namespace nnlab::cli
