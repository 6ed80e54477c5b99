#include "editor_util.h"

#include <QLabel>
#include <QLocale>

#include <cmath>

namespace editor {

QString formatNumber(double value)
{
    return QString::number(value, 'g', QLocale::FloatingPointShortest);
}

QString formatCount(int64_t value)
{
    return QLocale(QLocale::English).toString(static_cast<qlonglong>(value));
}

QString formatCompact(double value)
{
    const double a = std::fabs(value);
    if (a >= 1e9)
        return QString::number(value / 1e9, 'f', 2) + QLatin1Char('G');
    if (a >= 1e6)
        return QString::number(value / 1e6, 'f', 2) + QLatin1Char('M');
    if (a >= 1e4)
        return QString::number(value / 1e3, 'f', 1) + QLatin1Char('k');
    return QString::number(static_cast<qlonglong>(std::llround(value)));
}

QString shapeText(const std::vector<int64_t>& shape)
{
    QStringList parts;
    for (int64_t v : shape)
        parts << QString::number(v);
    return QLatin1Char('[') + parts.join(QStringLiteral(", ")) + QLatin1Char(']');
}

int mergeIdFor(const std::string& path)
{
    // FNV-1a: stable across runs, unlike qHash's per-process seed.
    uint32_t h = 2166136261u;
    for (unsigned char c : path) {
        h ^= c;
        h *= 16777619u;
    }
    return static_cast<int>(h & 0x3fffffff);
}

QString tooltipWithDefault(const QString& doc, const QString& defaultText)
{
    if (doc.contains(QStringLiteral("(default")))
        return doc;
    return doc + QStringLiteral(" (default ") + defaultText + QLatin1Char(')');
}

QString optionTooltip(const nnlab::OptionInfo& option)
{
    QString text = QString::fromStdString(option.doc);
    if (option.required)
        text += QStringLiteral(" (required, no default)");
    else if (option.kind == nnlab::OptionInfo::Kind::Bool)
        text = tooltipWithDefault(text, option.defaultValue != 0 ? QStringLiteral("true") : QStringLiteral("false"));
    else
        text = tooltipWithDefault(text, formatNumber(option.defaultValue));
    if (option.kind != nnlab::OptionInfo::Kind::Bool)
        text += QStringLiteral("; ") + formatNumber(option.min) + QStringLiteral(" to ") + formatNumber(option.max);
    return text;
}

namespace {

bool startsWith(const std::string& text, const std::string& prefix)
{
    return text.compare(0, prefix.size(), prefix) == 0;
}

} // namespace

nnlab::Problems layerProblems(const nnlab::Problems& all, const LayerPath& path)
{
    const std::string base = jsonPath(path);
    nnlab::Problems out;
    for (const auto& p : all) {
        if (!startsWith(p.path, base))
            continue;
        const std::string rest = p.path.substr(base.size());
        // "" and " (conv2d)" are the layer itself; ".kernel_size" an option; ".layers[0]..."
        // belongs to a child row, but a residual's own ".layers" ("needs at least one layer") is its own.
        if (rest.empty() || rest[0] == ' ' || (rest[0] == '.' && !startsWith(rest, ".layers[")))
            out.push_back(p);
    }
    return out;
}

nnlab::Problems fieldProblems(const nnlab::Problems& all, const std::string& path)
{
    nnlab::Problems out;
    for (const auto& p : all)
        if (p.path == path)
            out.push_back(p);
    return out;
}

QString problemMessages(const nnlab::Problems& problems)
{
    QStringList lines;
    for (const auto& p : problems)
        lines << QString::fromStdString(p.message);
    return lines.join(QLatin1Char('\n'));
}

QString blockingReason(const nnlab::Problems& problems)
{
    if (problems.empty())
        return {};
    QString text = QStringLiteral("Fix first: ") + QString::fromStdString(problems.front().text());
    if (problems.size() > 1)
        text += QStringLiteral(" (and %1 more)").arg(problems.size() - 1);
    return text;
}

QLabel* makeProblemLabel(QWidget* parent)
{
    auto* label = new QLabel(parent);
    label->setWordWrap(true);
    label->setStyleSheet(QStringLiteral("color: #c0392b;"));
    label->setTextInteractionFlags(Qt::TextSelectableByMouse);
    label->hide();
    return label;
}

void setProblemText(QLabel* label, const QString& text)
{
    if (label->text() != text)
        label->setText(text);
    label->setVisible(!text.isEmpty());
}

QString layerSummary(const nnlab::LayerSpec& layer)
{
    const auto* info = nnlab::findLayerType(layer.type);
    if (!info)
        return {};
    QStringList parts;
    for (const auto& opt : info->options) {
        const double v = layer.option(opt.key);
        if (!opt.required && v == opt.defaultValue)
            continue;   // defaults stay implicit, as in the JSON
        const QString value = formatNumber(v);
        if (opt.kind == nnlab::OptionInfo::Kind::Bool)
            parts << (v != 0 ? QString::fromStdString(opt.key) : QStringLiteral("no ") + QString::fromStdString(opt.key));
        else if (opt.key == "out_channels")
            parts << value + QStringLiteral(" ch");
        else if (opt.key == "out_features")
            parts << (v == 0 ? QStringLiteral("out from the data") : value + QStringLiteral(" out"));
        else if (opt.key == "kernel_size")
            parts << value + QStringLiteral("×") + value;
        else if (opt.key == "output_size")
            parts << QStringLiteral("→ ") + value + QStringLiteral("×") + value;
        else if (opt.key == "padding")
            parts << QStringLiteral("pad ") + value;
        else if (opt.key == "negative_slope")
            parts << QStringLiteral("slope ") + value;
        else
            parts << QString::fromStdString(opt.key) + QLatin1Char(' ') + value;
    }
    return parts.join(QStringLiteral(" · "));
}

QColor categoryColor(const std::string& category)
{
    if (category == "Linear")
        return QColor(0xd6, 0xe6, 0xfa);
    if (category == "Convolution")
        return QColor(0xd4, 0xf0, 0xdc);
    if (category == "Normalization")
        return QColor(0xf6, 0xe8, 0xc8);
    if (category == "Activation")
        return QColor(0xf8, 0xdc, 0xe4);
    if (category == "Pooling")
        return QColor(0xe4, 0xdc, 0xf4);
    if (category == "Regularization")
        return QColor(0xe8, 0xe8, 0xe8);
    if (category == "Shape")
        return QColor(0xdc, 0xf0, 0xf0);
    return QColor(0xf2, 0xf2, 0xf2);
}

QColor classColor(int index)
{
    // Matplotlib's tab10: distinct in colour and in lightness.
    static const QRgb colors[] = {0x1f77b4, 0xff7f0e, 0x2ca02c, 0xd62728, 0x9467bd,
                                  0x8c564b, 0xe377c2, 0x7f7f7f, 0xbcbd22, 0x17becf};
    return QColor(colors[static_cast<unsigned>(index) % 10]);
}

} // namespace editor
