// A confusion matrix drawn as a grid: rows the actual class, columns the predicted one, each
// cell shaded by its share of its row (so a class's recall reads along its diagonal cell
// whatever the class sizes) and labelled with its count. Clicking a cell selects it and emits
// cellClicked, which the confusion panel answers with that cell's examples.
#pragma once

#include <QStringList>
#include <QWidget>

#include <cstdint>
#include <vector>

namespace inspect {

// Per-class scores of a confusion matrix (rows actual, columns predicted, row-major).
struct ClassScores {
    double precision = 0.0;   // NaN when the class was never predicted
    double recall = 0.0;      // NaN when the class has no samples
    int64_t support = 0;      // samples of the class
};
std::vector<ClassScores> classScores(const std::vector<int64_t>& counts, int classes);

class ConfusionMatrixView : public QWidget {
    Q_OBJECT
public:
    explicit ConfusionMatrixView(QWidget* parent = nullptr);

    // counts: classes x classes, row-major (row = actual class). Keeps the selection when the
    // class count is unchanged.
    void setMatrix(std::vector<int64_t> counts, int classes, QStringList classNames = {});
    void clear();
    int classes() const { return m_classes; }
    int64_t count(int actual, int predicted) const;
    const std::vector<int64_t>& counts() const { return m_counts; }
    QString className(int index) const;

    // The cell's rectangle in widget coordinates; empty when out of range.
    QRect cellRect(int actual, int predicted) const;
    // {actual, predicted} at a widget position; {-1, -1} outside the grid.
    std::pair<int, int> cellAt(const QPoint& pos) const;
    std::pair<int, int> selectedCell() const { return {m_selActual, m_selPredicted}; }
    void selectCell(int actual, int predicted);   // emits cellClicked, as a click does

    QSize sizeHint() const override;
    QSize minimumSizeHint() const override;

signals:
    void cellClicked(int actual, int predicted);

protected:
    void paintEvent(QPaintEvent* event) override;
    void mousePressEvent(QMouseEvent* event) override;

private:
    struct Layout {
        QRect grid;
        double cell = 0;
    };
    Layout layoutFor(const QSize& size) const;
    int labelWidth() const;

    std::vector<int64_t> m_counts;
    int m_classes = 0;
    QStringList m_names;
    int m_selActual = -1;
    int m_selPredicted = -1;
};

} // namespace inspect
