// What the fused-kernel equivalence tests (test_fused_ops, test_fused_conv, test_fused_layers)
// share: tolerance comparisons against LibTorch's results that say where they differ, the
// failures of a test function collected so that one run reports every failing case, and a
// scope for LibTorch's thread count. Header-only: each test is one translation unit.
#pragma once

#ifndef QT_NO_KEYWORDS
#define QT_NO_KEYWORDS
#endif

#include "nnlab/spec.h"
#include "nnlab/spec_json.h"

#include <torch/torch.h>

#include <QtTest>

#include <exception>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

namespace fused_test {

inline std::string shapeOf(const torch::Tensor& t)
{
    std::ostringstream s;
    s << t.sizes();
    return s.str();
}

// "" when |a - b| <= atol + rtol |b| everywhere (both defined or neither, no NaN); else the
// worst element.
inline std::string closeDiff(const torch::Tensor& a, const torch::Tensor& b, double rtol, double atol)
{
    if (a.defined() != b.defined())
        return std::string("one tensor undefined: ") + (a.defined() ? "second" : "first");
    if (!a.defined())
        return "";
    if (a.sizes() != b.sizes())
        return "shapes differ: " + shapeOf(a) + " vs " + shapeOf(b);
    const torch::Tensor ca = a.detach().contiguous().to(torch::kDouble).flatten();
    const torch::Tensor cb = b.detach().contiguous().to(torch::kDouble).flatten();
    if (ca.isnan().any().item<bool>() || cb.isnan().any().item<bool>())
        return "NaN in a result";
    const torch::Tensor excess = (ca - cb).abs() - (atol + rtol * cb.abs());
    if (ca.numel() == 0 || excess.max().item<double>() <= 0.0)
        return "";
    const int64_t i = excess.argmax().item<int64_t>();
    std::ostringstream s;
    s.precision(9);
    s << (excess > 0).sum().item<int64_t>() << " of " << ca.numel() << " elements out of tolerance (rtol " << rtol
      << ", atol " << atol << "); worst at flat index " << i << ": " << ca[i].item<double>() << " vs "
      << cb[i].item<double>() << " (max |diff| " << (ca - cb).abs().max().item<double>() << ")";
    return s.str();
}

// For sums over many terms (weight and bias gradients, a convolution's outputs), whose
// rounding error scales with the terms rather than with each result: "" when
// |a - b| <= atol + rtol max|b| everywhere.
inline std::string closeDiffOfSums(const torch::Tensor& a, const torch::Tensor& b, double rtol, double atol)
{
    if (!a.defined() || !b.defined() || b.numel() == 0)
        return closeDiff(a, b, rtol, atol);
    return closeDiff(a, b, 0.0, atol + rtol * b.detach().abs().max().item<double>());
}

inline std::string firstLine(const std::exception& e)
{
    const std::string message = e.what();
    return message.substr(0, message.find('\n'));
}

// Failures are collected per test function; REPORT_FAILURES prints the first 40 and fails
// the test function when there is any.
struct Failures {
    QStringList list;
    int checks = 0;
    void check(const std::string& what, const std::string& diff)
    {
        ++checks;
        if (!diff.empty())
            list << QString::fromStdString(what + ": " + diff);
    }
    void report() const
    {
        for (const QString& f : list.mid(0, 40))
            qWarning().noquote() << f;
        if (list.size() > 40)
            qWarning() << "..." << list.size() - 40 << "more";
    }
};

// Sets LibTorch's intra-op thread count for a scope.
class ThreadScope {
public:
    explicit ThreadScope(int threads) : m_saved(at::get_num_threads()) { at::set_num_threads(threads); }
    ~ThreadScope() { at::set_num_threads(m_saved); }

private:
    int m_saved;
};

// A model from a layer list; `input` replaces the [1, 28, 28] the parse validates against.
inline nnlab::ModelSpec handModel(const std::string& layersJson, std::vector<int64_t> input = {1, 28, 28})
{
    const std::string doc = R"({"data": {"source": "fashion-mnist"}, "model": {"input": [1, 28, 28], "layers": )"
                            + layersJson + "}}";
    const nnlab::ParseResult r = nnlab::parseExperiment(doc);
    if (!r.ok())
        qFatal("hand-made model: %s", r.errorText().c_str());
    nnlab::ModelSpec model = r.spec.model;
    model.input = std::move(input);
    return model;
}

} // namespace fused_test

#define REPORT_FAILURES(f)                                                                                      \
    do {                                                                                                        \
        (f).report();                                                                                           \
        QVERIFY2((f).list.isEmpty(),                                                                            \
                 qPrintable(QString("%1 of %2 checks failed").arg((f).list.size()).arg((f).checks)));           \
    } while (0)
