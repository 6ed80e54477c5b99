// Number entry for values that span orders of magnitude (1e-5, 0.001, 3e-4): a line edit that
// reads any C-style number, and a learning-rate variant with a logarithmic slider.
#pragma once

#include <QLineEdit>
#include <QWidget>

class QSlider;

// Emits valueEdited only for the user's typing (textEdited) and only for text that reads as
// a number, so refreshing it from the document never records an edit. Out-of-range values
// are passed on: the engine's validation explains them next to the field.
class NumberEdit : public QLineEdit {
    Q_OBJECT
public:
    explicit NumberEdit(QWidget* parent = nullptr);

    double value() const { return m_value; }
    // Shows `value` unless the text already reads as it (keeps "3e-4" as typed, not "0.0003").
    void setValue(double value);
    // Up/Down and the wheel multiply or divide by 10^(1/10) instead of doing nothing.
    void setLogarithmicSteps(bool on) { m_logSteps = on; }

signals:
    void valueEdited(double value);

protected:
    void keyPressEvent(QKeyEvent* event) override;
    void wheelEvent(QWheelEvent* event) override;
    void focusOutEvent(QFocusEvent* event) override;

private:
    void onTextEdited(const QString& text);
    void stepBy(int steps);
    void showInvalid(bool invalid);

    double m_value = 0;
    bool m_logSteps = false;
};

// A learning rate: the number edit and a slider over 1e-6 .. 1 in log space. Both edit the
// same value; the slider rounds to two significant digits (3.2e-4), the edit takes anything.
class LogNumberEdit : public QWidget {
    Q_OBJECT
public:
    explicit LogNumberEdit(QWidget* parent = nullptr, double minimum = 1e-6, double maximum = 1.0);

    double value() const;
    void setValue(double value);
    NumberEdit* edit() const { return m_edit; }
    QSlider* slider() const { return m_slider; }

signals:
    void valueEdited(double value);

private:
    void syncSlider(double value);

    NumberEdit* m_edit;
    QSlider* m_slider;
    double m_logMin;
    double m_logMax;
};
