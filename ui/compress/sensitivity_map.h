// The sensitivity heat map: one row per prunable layer, one column per setting (a sparsity,
// or int8), each cell coloured by the accuracy drop of that layer alone at that setting
// (white = none, deep red = the most in this analysis, blue = a gain) with the drop in points
// written in it. Clicking a cell emits the layer's path in the experiment (for the model
// editor) and its state-dict name; hovering shows the cell's numbers.
#pragma once

#include "nnlab/sensitivity.h"

#include <QMetaType>
#include <QWidget>

Q_DECLARE_METATYPE(nnlab::SensitivityResult)

class SensitivityMap : public QWidget {
    Q_OBJECT
public:
    explicit SensitivityMap(QWidget* parent = nullptr);

    void setResult(nnlab::SensitivityResult result);
    const nnlab::SensitivityResult& result() const { return m_result; }
    QRect cellRect(int layer, int setting) const;   // in widget coordinates
    QSize sizeHint() const override;
    QSize minimumSizeHint() const override;
    // White to red over [0, maxDrop], blue for gains; grey for a cell that did not run.
    static QColor colourFor(const nnlab::SensitivityCell& cell, double maxDrop);

signals:
    void layerClicked(const QList<int>& specPath, const QString& layerName);

protected:
    void paintEvent(QPaintEvent* event) override;
    void mouseReleaseEvent(QMouseEvent* event) override;
    bool event(QEvent* event) override;   // tooltips

private:
    std::pair<int, int> cellAt(const QPoint& pos) const;
    int labelWidth() const;
    QSize cellSize() const;   // from the widget's size, within fixed bounds
    double maxDrop() const;

    nnlab::SensitivityResult m_result;
    int m_selected = -1;
};
