// The lab parser: a good file read whole; bad files refused with path-qualified messages.
#include "nnlab/lab.h"

#include <QTest>

#include <nlohmann/json.hpp>

#include <filesystem>

using nlohmann::json;

namespace {

const char* kExperiment = R"({"name": "t", "data": {"source": "moons", "samples": 200},
  "model": {"input": [2], "layers": [{"type": "linear", "out_features": 8}, {"type": "relu"}, {"type": "linear", "out_features": 2}]},
  "optimizer": {"type": "sgd", "lr": 0.1}, "training": {"epochs": 1}})";

// A valid two-step lab; rows of the bad-file table each break one thing in it.
json goodLab()
{
    json lab = json::parse(R"({"format": "nnlab.lab/1", "title": "T", "_comment": "ignored",
      "steps": [
        {"id": "one", "title": "One", "text": "t", "question": {"prompt": "?", "choices": ["a", "b"], "answer": 1},
         "locked": [{"path": "optimizer.lr", "reason": "r"}], "hidden": ["schedule"],
         "observations": [{"metric": "val/accuracy", "op": ">", "value": 0.5, "_comment": "x"}]},
        {"id": "two", "title": "Two", "changes": {"optimizer": {"lr": 0.05}},
         "runs": [{"name": "A"}, {"name": "B", "set": {"optimizer.lr": 0.5}}],
         "observations": [{"metric": "train/loss", "run": "B", "op": "<", "than": {"run": "A", "factor": 0.9}},
                          {"gap": ["train/accuracy", "val/accuracy"], "run": ["A", "B"], "trend": "grows", "from": "epoch 1", "margin": 0.01}]}]})");
    lab["steps"][0]["experiment"] = json::parse(kExperiment);
    return lab;
}

} // namespace

class TestLabParse : public QObject {
    Q_OBJECT
private slots:
    void readsAGoodLab()
    {
        const nnlab::LabParseResult r = nnlab::parseLab(goodLab().dump(), "/tmp");
        QVERIFY2(r.ok(), r.errorText().c_str());
        QCOMPARE(r.lab.steps.size(), size_t(2));
        const nnlab::LabStep& one = r.lab.steps[0];
        QCOMPARE(one.runs.size(), size_t(1));
        QCOMPARE(one.runs[0].name, std::string("run"));
        QCOMPARE(one.locked.at(0).path, std::string("optimizer.lr"));
        QCOMPARE(one.question.answer, 1);
        QCOMPARE(one.observations.at(0).left.runs, std::vector<std::string>{"run"});
        // The second step changes the first one's experiment; its variants change it again.
        const nnlab::LabStep& two = r.lab.steps[1];
        QCOMPARE(two.experiment.optimizer.lr, 0.05);
        QCOMPARE(two.experiment.optimizer.type, std::string("sgd"));
        nnlab::ExperimentSpec b;
        QVERIFY(nnlab::variantSpec(two.experiment, two.runs[1], b).empty());
        QCOMPARE(b.optimizer.lr, 0.5);
        const nnlab::Observation& cmp = two.observations[0];
        QVERIFY(cmp.againstRun);
        QCOMPARE(cmp.right.runs, std::vector<std::string>{"A"});
        QCOMPARE(cmp.right.metric, std::string("train/loss"));   // taken from the left side
        QCOMPARE(cmp.factor, 0.9);
        const nnlab::Observation& trend = two.observations[1];
        QCOMPARE(trend.kind, nnlab::ObservationKind::Trend);
        QCOMPARE(trend.left.minus, std::string("val/accuracy"));
        QCOMPARE(trend.left.runs.size(), size_t(2));
    }

    void theTemplateParses()
    {
        const nnlab::LabParseResult r = nnlab::parseLab(nnlab::labTemplate(), "/tmp");
        QVERIFY2(r.ok(), r.errorText().c_str());
    }

    void theShippedLabsParse()
    {
        int count = 0;
        for (const auto& entry : std::filesystem::directory_iterator(NNLAB_SOURCE_DIR "/resources/labs")) {
            if (entry.path().extension() != ".json")
                continue;
            const nnlab::LabParseResult r = nnlab::loadLabFile(entry.path().string());
            QVERIFY2(r.ok(), (entry.path().string() + "\n" + r.errorText()).c_str());
            ++count;
        }
        QVERIFY(count >= 6);
    }

    void refusesBadFiles_data()
    {
        QTest::addColumn<QString>("pointer");   // a JSON pointer into goodLab()
        QTest::addColumn<QString>("value");     // JSON to put there; "DELETE" removes it
        QTest::addColumn<QString>("expected");  // a line of the error text
        auto row = [](const char* name, const char* pointer, const char* value, const char* expected) {
            QTest::newRow(name) << pointer << value << expected;
        };
        row("format", "/format", "\"nnlab.lab/2\"", "format: \"nnlab.lab/2\" is not \"nnlab.lab/1\"");
        row("no steps", "/steps", "[]", "steps: must be a non-empty list of steps");
        row("unknown key", "/steps/0/colour", "1", "steps[0].colour: unknown key");
        row("bad id", "/steps/1/id", "\"a b\"", "steps[1].id: \"a b\": use letters, digits, _ and -");
        row("duplicate id", "/steps/1/id", "\"one\"", "steps[1].id: \"one\" names two steps");
        row("no experiment", "/steps/0/experiment", "DELETE", "steps[0].experiment: missing; the first step needs an experiment");
        row("bad experiment", "/steps/0/experiment/optimizer/lr", "-1", "steps[0].experiment.optimizer.lr: must be > 0");
        row("bad change", "/steps/1/changes", "{\"training\": {\"epochs\": 0}}", "steps[1].changes.training.epochs: must be >= 1");
        row("bad variant", "/steps/1/runs/1/set", "{\"optimizer.type\": \"sgdd\"}", "steps[1].runs[1].optimizer.type: unknown value \"sgdd\"");
        row("missing file", "/steps/0/experiment", "\"no-such.json\"", "steps[0].experiment.");
        row("duplicate run", "/steps/1/runs/1/name", "\"A\"", "steps[1].runs[1].name: \"A\" names two runs of this step");
        row("bad op", "/steps/0/observations/0/op", "\"=<\"", "steps[0].observations[0].op: unknown value \"=<\"; one of <, <=, >, >=");
        row("value and than", "/steps/0/observations/0/than", "{\"run\": \"run\"}", "steps[0].observations[0]: needs either \"value\"");
        row("unknown run", "/steps/1/observations/0/run", "\"C\"", "steps[1].observations[0].run: \"C\" is not a run of this step; one of A, B");
        row("bad at", "/steps/0/observations/0/at", "\"epoch zero\"", "steps[0].observations[0].at: unknown point \"epoch zero\"");
        row("epoch 0", "/steps/0/observations/0/at", "\"epoch 0\"", "steps[0].observations[0].at: unknown point \"epoch 0\"");
        row("bad trend", "/steps/1/observations/1/trend", "\"rises\"", "steps[1].observations[1].trend: unknown value \"rises\"; one of grows, shrinks");
        row("bad gap", "/steps/1/observations/1/gap", "[\"a\"]", "steps[1].observations[1].gap: must be two metric names");
        row("check on train", "/steps/0/observations/0", "{\"check\": \"input_range\"}", "steps[0].observations[0].check: only a step with \"action\": \"check\"");
        row("unknown check", "/steps/0/observations/0", "{\"check\": \"vibes\"}", "steps[0].observations[0].check: unknown check \"vibes\"");
        row("bad answer", "/steps/0/question/answer", "2", "steps[0].question.answer: must index choices");
        row("one choice", "/steps/0/question/choices", "[\"a\"]", "steps[0].question.choices: needs at least two choices");
        row("lock reason", "/steps/0/locked/0/reason", "DELETE", "steps[0].locked[0].reason: missing");
        row("bad action", "/steps/0/action", "\"fly\"", "steps[0].action: unknown value \"fly\"; one of train, check");
        row("missing figure", "/steps/0/figure", "\"nope.png\"", "steps[0].figure: /tmp/nope.png: no such file");
    }

    void refusesBadFiles()
    {
        QFETCH(QString, pointer);
        QFETCH(QString, value);
        QFETCH(QString, expected);
        json lab = goodLab();
        const json::json_pointer ptr(pointer.toStdString());
        if (value == "DELETE")
            lab[ptr.parent_pointer()].erase(ptr.back());
        else
            lab[ptr] = json::parse(value.toStdString());
        const nnlab::LabParseResult r = nnlab::parseLab(lab.dump(), "/tmp");
        QVERIFY(!r.ok());
        const std::string text = r.errorText();
        QVERIFY2(text.find(expected.toStdString()) != std::string::npos, text.c_str());
    }

    void notJsonIsOneProblem()
    {
        const nnlab::LabParseResult r = nnlab::parseLab("{\"format\": ", "/tmp");
        QCOMPARE(r.problems.size(), size_t(1));
        QVERIFY(r.problems[0].message.find("not valid JSON") == 0);
    }
};

QTEST_APPLESS_MAIN(TestLabParse)
#include "test_lab_parse.moc"
