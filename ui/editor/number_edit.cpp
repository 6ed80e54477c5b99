#include "number_edit.h"

#include "editor_util.h"

#include <QHBoxLayout>
#include <QKeyEvent>
#include <QSignalBlocker>
#include <QSlider>
#include <QWheelEvent>

#include <cmath>

namespace {

constexpr int kSliderStepsPerDecade = 100;

bool readNumber(const QString& text, double& value)
{
    bool ok = false;
    const double v = text.trimmed().toDouble(&ok);   // C locale: "3e-4", "0.5", "-1"
    if (!ok || !std::isfinite(v))
        return false;
    value = v;
    return true;
}

double roundSignificant(double v, int digits)
{
    if (v <= 0)
        return v;
    const double scale = std::pow(10.0, digits - 1 - std::floor(std::log10(v)));
    return std::round(v * scale) / scale;
}

} // namespace

NumberEdit::NumberEdit(QWidget* parent) : QLineEdit(parent)
{
    connect(this, &QLineEdit::textEdited, this, &NumberEdit::onTextEdited);
    connect(this, &QLineEdit::editingFinished, this, [this] {
        // Tidy the text once the user leaves: invalid text goes back to the last value.
        double v = 0;
        if (!readNumber(text(), v))
            setText(editor::formatNumber(m_value));
        showInvalid(false);
    });
}

void NumberEdit::setValue(double value)
{
    m_value = value;
    double shown = 0;
    if (readNumber(text(), shown) && shown == value)
        return;
    // Keep half-typed text ("3e-") while the user is still in the field.
    if (hasFocus() && !readNumber(text(), shown))
        return;
    const QSignalBlocker blocker(this);
    setText(editor::formatNumber(value));
    showInvalid(false);
}

void NumberEdit::onTextEdited(const QString& text)
{
    double v = 0;
    if (!readNumber(text, v)) {
        showInvalid(!text.trimmed().isEmpty());
        return;
    }
    showInvalid(false);
    m_value = v;
    emit valueEdited(v);
}

void NumberEdit::stepBy(int steps)
{
    double v = m_value;
    if (m_logSteps && v > 0)
        v = roundSignificant(v * std::pow(10.0, 0.1 * steps), 2);
    else if (!m_logSteps)
        v += steps;
    else
        return;
    m_value = v;
    setText(editor::formatNumber(v));
    emit valueEdited(v);
}

void NumberEdit::keyPressEvent(QKeyEvent* event)
{
    if (event->key() == Qt::Key_Up || event->key() == Qt::Key_Down) {
        stepBy(event->key() == Qt::Key_Up ? 1 : -1);
        return;
    }
    QLineEdit::keyPressEvent(event);
}

void NumberEdit::wheelEvent(QWheelEvent* event)
{
    // Only a focused field takes the wheel, so scrolling a form does not change values.
    if (!hasFocus() || event->angleDelta().y() == 0) {
        QLineEdit::wheelEvent(event);
        return;
    }
    stepBy(event->angleDelta().y() > 0 ? 1 : -1);
    event->accept();
}

void NumberEdit::focusOutEvent(QFocusEvent* event)
{
    QLineEdit::focusOutEvent(event);
    double v = 0;
    if (!readNumber(text(), v)) {
        const QSignalBlocker blocker(this);
        setText(editor::formatNumber(m_value));
        showInvalid(false);
    }
}

void NumberEdit::showInvalid(bool invalid)
{
    setStyleSheet(invalid ? QStringLiteral("QLineEdit { border: 1px solid #c0392b; }") : QString());
}

LogNumberEdit::LogNumberEdit(QWidget* parent, double minimum, double maximum)
    : QWidget(parent), m_edit(new NumberEdit(this)), m_slider(new QSlider(Qt::Horizontal, this)),
      m_logMin(std::log10(minimum)), m_logMax(std::log10(maximum))
{
    auto* layout = new QHBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    m_edit->setLogarithmicSteps(true);
    m_edit->setMaximumWidth(90);
    m_slider->setRange(static_cast<int>(std::lround(m_logMin * kSliderStepsPerDecade)),
                       static_cast<int>(std::lround(m_logMax * kSliderStepsPerDecade)));
    m_slider->setPageStep(kSliderStepsPerDecade);
    m_slider->setSingleStep(kSliderStepsPerDecade / 10);
    m_slider->setTickInterval(kSliderStepsPerDecade);
    m_slider->setTickPosition(QSlider::TicksBelow);
    layout->addWidget(m_edit);
    layout->addWidget(m_slider, 1);

    connect(m_edit, &NumberEdit::valueEdited, this, [this](double v) {
        syncSlider(v);
        emit valueEdited(v);
    });
    connect(m_slider, &QSlider::valueChanged, this, [this](int position) {
        const double v = roundSignificant(std::pow(10.0, double(position) / kSliderStepsPerDecade), 2);
        m_edit->setValue(v);
        emit valueEdited(v);
    });
}

double LogNumberEdit::value() const { return m_edit->value(); }

void LogNumberEdit::setValue(double value)
{
    m_edit->setValue(value);
    syncSlider(value);
}

void LogNumberEdit::syncSlider(double value)
{
    if (value <= 0)
        return;
    const QSignalBlocker blocker(m_slider);
    m_slider->setValue(static_cast<int>(std::lround(std::log10(value) * kSliderStepsPerDecade)));
}
