#include "layer_form.h"

#include "editor_util.h"
#include "form_binder.h"
#include "number_edit.h"

#include "nnlab/layer_types.h"

#include <QCheckBox>
#include <QFormLayout>
#include <QLabel>
#include <QLineEdit>
#include <QSpinBox>
#include <QVBoxLayout>

namespace {

// "0 = kernel_size" in an option's doc names what 0 stands for; the spin box says so.
QString zeroMeaning(const nnlab::OptionInfo& option)
{
    const std::string& doc = option.doc;
    const auto at = doc.find("0 = ");
    if (option.min != 0 || at == std::string::npos)
        return {};
    const auto end = doc.find_first_of(" (;", at + 4);
    return QStringLiteral("= ") + QString::fromStdString(doc.substr(at + 4, end == std::string::npos ? end : end - at - 4));
}

const nnlab::LayerInfo* findRow(const nnlab::ModelInfo& info, const std::string& path, bool shortcut)
{
    for (const auto& row : info.layers)
        if (row.path == path && (row.type == "shortcut") == shortcut)
            return &row;
    return nullptr;
}

} // namespace

LayerForm::LayerForm(ExperimentDocument* doc, QWidget* parent)
    : QWidget(parent), m_doc(doc), m_title(new QLabel(this)), m_typeDoc(new QLabel(this)),
      m_stats(new QLabel(this)), m_problems(editor::makeProblemLabel(this))
{
    auto* layout = new QVBoxLayout(this);
    QFont bold = m_title->font();
    bold.setBold(true);
    bold.setPointSizeF(bold.pointSizeF() * 1.15);
    m_title->setFont(bold);
    m_typeDoc->setWordWrap(true);
    m_typeDoc->setStyleSheet(QStringLiteral("color: palette(mid);"));
    m_stats->setWordWrap(true);
    m_stats->setTextInteractionFlags(Qt::TextSelectableByMouse);
    layout->addWidget(m_title);
    layout->addWidget(m_typeDoc);
    layout->addWidget(m_stats);
    layout->addWidget(m_problems);
    layout->addStretch(1);
    rebuild();
}

void LayerForm::setLayer(const LayerPath& path)
{
    const nnlab::LayerSpec* layer = path.isEmpty() ? nullptr : layerAt(m_doc->spec().model, path);
    const std::string type = layer ? layer->type : std::string();
    const LayerPath shown = layer ? path : LayerPath{};
    if (shown != m_path || type != m_type || !m_fields) {
        m_path = shown;
        m_type = type;
        rebuild();
    }
    refresh();
}

void LayerForm::rebuild()
{
    if (m_fields) {
        // Its editor may be the sender of the edit that led here: delete it later, and take
        // it out of the widget tree now so nothing finds its fields by name meanwhile.
        m_fields->hide();
        m_fields->setParent(nullptr);
        m_fields->deleteLater();
    }
    m_fields = new QWidget(this);
    auto* form = new QFormLayout(m_fields);
    form->setContentsMargins(0, 0, 0, 0);
    form->setFieldGrowthPolicy(QFormLayout::AllNonFixedFieldsGrow);
    m_binder = new FormBinder(m_doc, form, m_fields);
    m_binder->setAppendDefaults(false);
    static_cast<QVBoxLayout*>(layout())->insertWidget(4, m_fields);
    m_name = nullptr;

    const nnlab::LayerTypeInfo* info = nnlab::findLayerType(m_type);
    if (m_path.isEmpty() || !info) {
        m_title->setText(tr("No layer selected"));
        m_typeDoc->setText(tr("Select a layer in the list or the diagram to edit its options."));
        return;
    }
    m_title->setText(QString::fromStdString(info->type));
    m_typeDoc->setText(QString::fromStdString(info->doc));

    const LayerPath path = m_path;
    const std::string base = jsonPath(path);
    m_name = m_binder->addText(
        tr("Name"), base + ".name",
        tr("Optional; names the layer's parameters in checkpoints instead of its index (default: empty)"),
        [path](const nnlab::ExperimentSpec& s) {
            const auto* l = layerAt(s.model, path);
            return l ? l->name : std::string();
        },
        [path](nnlab::ExperimentSpec& s, std::string v) {
            if (auto* l = layerAt(s.model, path))
                l->name = std::move(v);
        });
    m_name->setObjectName(QStringLiteral("name"));
    m_name->setPlaceholderText(tr("(index)"));

    using Kind = nnlab::OptionInfo::Kind;
    for (const nnlab::OptionInfo& opt : info->options) {
        const std::string key = opt.key;
        const QString label = QString::fromStdString(key);
        const QString tip = editor::optionTooltip(opt);
        auto get = [path, key](const nnlab::ExperimentSpec& s) {
            const auto* l = layerAt(s.model, path);
            return l ? l->option(key) : 0.0;
        };
        auto set = [path, key](nnlab::ExperimentSpec& s, double v) {
            if (auto* l = layerAt(s.model, path))
                l->options[key] = v;
        };
        QWidget* widget = nullptr;
        if (opt.kind == Kind::Int) {
            QSpinBox* box = m_binder->addInt(
                label, base + "." + key, static_cast<int64_t>(opt.min), static_cast<int64_t>(opt.max), tip,
                [get](const nnlab::ExperimentSpec& s) { return static_cast<int64_t>(get(s)); },
                [set](nnlab::ExperimentSpec& s, int64_t v) { set(s, static_cast<double>(v)); });
            box->setSpecialValueText(zeroMeaning(opt));
            widget = box;
        } else if (opt.kind == Kind::Float) {
            widget = m_binder->addNumber(label, base + "." + key, tip, get, set);
        } else {
            widget = m_binder->addBool(
                label, base + "." + key, tip, [get](const nnlab::ExperimentSpec& s) { return get(s) != 0.0; },
                [set](nnlab::ExperimentSpec& s, bool v) { set(s, v ? 1.0 : 0.0); });
        }
        // Tests and scripts find fields by their JSON key.
        widget->setObjectName(label);
    }
}

void LayerForm::refresh()
{
    if (m_binder)
        m_binder->refresh();
    if (m_path.isEmpty()) {
        m_stats->clear();
        editor::setProblemText(m_problems, {});
        return;
    }
    const std::string base = jsonPath(m_path);
    const nnlab::ModelInfo& info = m_doc->modelInfo();
    QString stats;
    const nnlab::LayerInfo* row = findRow(info, base, false);
    if (row && row->outputShape.empty()) {
        stats = tr("In %1 → out ?").arg(editor::shapeText(row->inputShape));
    } else if (row) {
        stats = tr("In %1 → out %2").arg(editor::shapeText(row->inputShape),
                                       row->outputShape.empty() ? tr("?") : editor::shapeText(row->outputShape));
        stats += tr(" · %1 parameters · %2 MACs").arg(editor::formatCount(row->parameters),
                                                     editor::formatCompact(static_cast<double>(row->macs)));
        if (m_type == "residual" && !row->outputShape.empty()) {
            const nnlab::LayerInfo* shortcut = findRow(info, base, true);
            stats += QStringLiteral("\n")
                     + (shortcut ? tr("Shortcut: learned %1 projection, %2 parameters")
                                       .arg(row->outputShape.size() == 1 ? tr("linear") : tr("1x1 conv"),
                                            editor::formatCount(shortcut->parameters))
                                 : tr("Shortcut: identity (the block keeps the shape)"));
        }
    } else {
        stats = tr("Shape unknown: an earlier layer has a problem.");
    }
    m_stats->setText(stats);

    // Problems of an option sit under its field; the rest of the layer's go at the top.
    QStringList own;
    const auto* typeInfo = nnlab::findLayerType(m_type);
    for (const nnlab::Problem& p : editor::layerProblems(m_doc->problems(), m_path)) {
        const std::string rest = p.path.size() > base.size() + 1 ? p.path.substr(base.size() + 1) : std::string();
        if (typeInfo && p.path.size() > base.size() && p.path[base.size()] == '.' && nnlab::findOption(*typeInfo, rest))
            continue;
        own << QString::fromStdString(p.message);
    }
    editor::setProblemText(m_problems, own.join(QLatin1Char('\n')));
}
