// The file `nnlab-cli lab new` writes: a two-step lab that runs as it is, every key shown and
// explained by "_comment" keys (JSON has no comments; the lab parser skips these keys).
#include "nnlab/lab.h"

namespace nnlab {

std::string labTemplate()
{
    return R"lab({
  "_comment": "An nnlab lab (format nnlab.lab/1). Check it with: nnlab-cli lab run THIS.json. Keys starting with _comment are ignored anywhere.",
  "format": "nnlab.lab/1",
  "title": "My first lab",
  "summary": "One sentence on what students will see.",
  "steps": [
    {
      "_comment": "id: short and unique. text: Markdown subset (**bold**, *italic*, `code`, '- ' lists, blank line = new paragraph). figure: an image path relative to this file (optional).",
      "id": "baseline",
      "title": "A small network on the spiral",
      "text": "The spiral data set has three interleaved arms. A **two-layer MLP** separates them.\n\n- Watch the loss fall.\n- Look at the validation accuracy.",
      "_comment_experiment": "experiment: a path relative to this file (\"../experiments/spiral-mlp.json\") or an inline experiment as below.",
      "experiment": {
        "name": "spiral",
        "seed": 0,
        "data": {"source": "spiral", "samples": 600, "classes": 3, "noise": 0.05},
        "model": {"input": [2], "layers": [
          {"type": "linear", "out_features": 32}, {"type": "relu"},
          {"type": "linear", "out_features": 3}]},
        "optimizer": {"type": "adam", "lr": 0.01},
        "training": {"epochs": 10, "batch_size": 32, "threads": 1}
      },
      "_comment_locked": "locked: greyed out in the GUI with the reason as tooltip. hidden: spec key paths not shown at all.",
      "locked": [{"path": "data", "reason": "Everyone uses the same data in this lab."}],
      "hidden": ["schedule"],
      "_comment_question": "question: students pick an answer before Train is enabled. answer: 0-based index (optional).",
      "question": {"prompt": "Where will the validation accuracy end?", "choices": ["below 50%", "above 80%"], "answer": 1,
                   "explanation": "Two layers of ReLUs bend the boundary enough for three arms."},
      "_comment_observations": "Observations are checked after the run. at: final (default), first, min, max, \"epoch N\", \"step N\". op: < <= > >=. value, or than: {run, metric, at, factor}.",
      "observations": [
        {"metric": "val/accuracy", "op": ">", "value": 0.6,
         "holds": "The network separates the arms.", "fails": "Too few epochs, or a learning rate too small?"},
        {"metric": "train/loss", "trend": "shrinks", "from": "first", "margin": 0.1,
         "holds": "The loss fell during training."}
      ]
    },
    {
      "_comment": "changes: a JSON merge patch on the previous step's experiment (objects merge; lists and values replace). set: {\"key.path\": value} replaces one value. runs: variants trained one after another, compared by name.",
      "id": "learning-rate",
      "title": "A learning rate a hundred times smaller",
      "text": "Same network, two learning rates.",
      "runs": [
        {"name": "A", "_comment": "A keeps the previous step's experiment"},
        {"name": "B", "set": {"optimizer.lr": 0.0001}}
      ],
      "locked": [{"path": "optimizer.lr", "reason": "The runs set it."}],
      "question": {"prompt": "Which run ends with the lower training loss?", "choices": ["A (lr 0.01)", "B (lr 0.0001)"], "answer": 0},
      "observations": [
        {"metric": "train/loss", "run": "A", "op": "<", "than": {"run": "B", "factor": 0.8},
         "holds": "With lr 0.0001 each step is tiny: ten epochs are not enough.",
         "fails": "Unexpected: try more epochs for A."}
      ]
    }
  ]
}
)lab";
}

} // namespace nnlab
