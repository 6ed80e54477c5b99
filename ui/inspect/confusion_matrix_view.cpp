#include "confusion_matrix_view.h"

#include <QMouseEvent>
#include <QPainter>

#include <algorithm>
#include <cmath>
#include <limits>

namespace inspect {

std::vector<ClassScores> classScores(const std::vector<int64_t>& counts, int classes)
{
    const double nan = std::numeric_limits<double>::quiet_NaN();
    std::vector<ClassScores> scores(static_cast<size_t>(std::max(classes, 0)));
    if (classes <= 0 || counts.size() != static_cast<size_t>(classes) * static_cast<size_t>(classes))
        return scores;
    for (int c = 0; c < classes; ++c) {
        int64_t row = 0, column = 0;
        for (int k = 0; k < classes; ++k) {
            row += counts[static_cast<size_t>(c * classes + k)];
            column += counts[static_cast<size_t>(k * classes + c)];
        }
        const double hit = static_cast<double>(counts[static_cast<size_t>(c * classes + c)]);
        ClassScores& s = scores[static_cast<size_t>(c)];
        s.support = row;
        s.recall = row > 0 ? hit / static_cast<double>(row) : nan;
        s.precision = column > 0 ? hit / static_cast<double>(column) : nan;
    }
    return scores;
}

namespace {
constexpr int kMargin = 6;
constexpr int kMaxCell = 56;
constexpr int kMinCell = 14;
} // namespace

ConfusionMatrixView::ConfusionMatrixView(QWidget* parent) : QWidget(parent)
{
    setMouseTracking(false);
    setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Expanding);
}

void ConfusionMatrixView::setMatrix(std::vector<int64_t> counts, int classes, QStringList classNames)
{
    if (classes < 0 || counts.size() != static_cast<size_t>(classes) * static_cast<size_t>(classes)) {
        clear();
        return;
    }
    if (classes != m_classes)
        m_selActual = m_selPredicted = -1;
    m_counts = std::move(counts);
    m_classes = classes;
    m_names = std::move(classNames);
    updateGeometry();
    update();
}

void ConfusionMatrixView::clear()
{
    m_counts.clear();
    m_classes = 0;
    m_names.clear();
    m_selActual = m_selPredicted = -1;
    update();
}

int64_t ConfusionMatrixView::count(int actual, int predicted) const
{
    if (actual < 0 || predicted < 0 || actual >= m_classes || predicted >= m_classes)
        return 0;
    return m_counts[static_cast<size_t>(actual * m_classes + predicted)];
}

QString ConfusionMatrixView::className(int index) const
{
    if (index >= 0 && index < m_names.size() && !m_names[index].isEmpty())
        return m_names[index];
    return QString::number(index);
}

int ConfusionMatrixView::labelWidth() const
{
    int widest = 0;
    for (int c = 0; c < m_classes; ++c)
        widest = std::max(widest, fontMetrics().horizontalAdvance(className(c)));
    return std::min(widest, 110) + 8;
}

ConfusionMatrixView::Layout ConfusionMatrixView::layoutFor(const QSize& size) const
{
    Layout l;
    if (m_classes <= 0)
        return l;
    const int left = kMargin + fontMetrics().height() + labelWidth();   // "actual" + row names
    const int top = kMargin + 2 * fontMetrics().height() + 4;             // "predicted" + column numbers
    const double room = std::min(size.width() - left - kMargin, size.height() - top - kMargin);
    l.cell = std::clamp(room / m_classes, static_cast<double>(kMinCell), static_cast<double>(kMaxCell));
    const int side = static_cast<int>(std::floor(l.cell * m_classes));
    l.grid = QRect(left, top, side, side);
    return l;
}

QRect ConfusionMatrixView::cellRect(int actual, int predicted) const
{
    if (actual < 0 || predicted < 0 || actual >= m_classes || predicted >= m_classes)
        return {};
    const Layout l = layoutFor(size());
    const int x0 = l.grid.left() + static_cast<int>(std::lround(predicted * l.cell));
    const int x1 = l.grid.left() + static_cast<int>(std::lround((predicted + 1) * l.cell));
    const int y0 = l.grid.top() + static_cast<int>(std::lround(actual * l.cell));
    const int y1 = l.grid.top() + static_cast<int>(std::lround((actual + 1) * l.cell));
    return QRect(QPoint(x0, y0), QPoint(x1 - 1, y1 - 1));
}

std::pair<int, int> ConfusionMatrixView::cellAt(const QPoint& pos) const
{
    const Layout l = layoutFor(size());
    if (m_classes <= 0 || !l.grid.contains(pos) || l.cell <= 0)
        return {-1, -1};
    const int predicted = std::min(m_classes - 1, static_cast<int>((pos.x() - l.grid.left()) / l.cell));
    const int actual = std::min(m_classes - 1, static_cast<int>((pos.y() - l.grid.top()) / l.cell));
    return {actual, predicted};
}

void ConfusionMatrixView::selectCell(int actual, int predicted)
{
    if (actual < 0 || predicted < 0 || actual >= m_classes || predicted >= m_classes)
        return;
    m_selActual = actual;
    m_selPredicted = predicted;
    update();
    emit cellClicked(actual, predicted);
}

void ConfusionMatrixView::mousePressEvent(QMouseEvent* event)
{
    const auto [actual, predicted] = cellAt(event->position().toPoint());
    if (actual >= 0)
        selectCell(actual, predicted);
    QWidget::mousePressEvent(event);
}

QSize ConfusionMatrixView::sizeHint() const
{
    const int n = std::max(m_classes, 2);
    const int side = n * 40;
    return {side + labelWidth() + fontMetrics().height() + 2 * kMargin,
            side + 2 * fontMetrics().height() + 4 + 2 * kMargin};
}

QSize ConfusionMatrixView::minimumSizeHint() const
{
    const int n = std::max(m_classes, 2);
    return {n * kMinCell + labelWidth() + 40, n * kMinCell + 50};
}

void ConfusionMatrixView::paintEvent(QPaintEvent*)
{
    QPainter p(this);
    p.fillRect(rect(), palette().color(QPalette::Base));
    if (m_classes <= 0) {
        p.setPen(palette().color(QPalette::PlaceholderText));
        p.drawText(rect().adjusted(8, 8, -8, -8), Qt::AlignCenter | Qt::TextWordWrap,
                   tr("No confusion matrix yet: it is recorded at each evaluation "
                      "(inspect.confusion_matrix), or computed for a stored run"));
        return;
    }
    const Layout l = layoutFor(size());
    const QFontMetrics fm = fontMetrics();
    QFont small = font();
    small.setPointSizeF(font().pointSizeF() * (l.cell < 28 ? 0.75 : 0.9));

    // Axis titles.
    p.setPen(palette().color(QPalette::Text));
    p.drawText(QRect(l.grid.left(), kMargin, l.grid.width(), fm.height()), Qt::AlignCenter, tr("predicted"));
    p.save();
    p.translate(kMargin + fm.height() - 2, l.grid.center().y());
    p.rotate(-90);
    p.drawText(QRect(-l.grid.height() / 2, -fm.height(), l.grid.height(), fm.height()), Qt::AlignCenter, tr("actual"));
    p.restore();

    p.setFont(small);
    for (int c = 0; c < m_classes; ++c) {
        const QRect column = cellRect(0, c);
        p.drawText(QRect(column.left(), l.grid.top() - fm.height() - 2, column.width(), fm.height()),
                   Qt::AlignCenter, QString::number(c));
        const QRect row = cellRect(c, 0);
        const QRect label(kMargin + fm.height(), row.top(), labelWidth() - 4, row.height());
        p.drawText(label, Qt::AlignRight | Qt::AlignVCenter,
                   QFontMetrics(small).elidedText(QStringLiteral("%1 %2").arg(c).arg(className(c)), Qt::ElideRight,
                                                  label.width()));
    }

    for (int a = 0; a < m_classes; ++a) {
        int64_t rowTotal = 0;
        for (int k = 0; k < m_classes; ++k)
            rowTotal += count(a, k);
        for (int k = 0; k < m_classes; ++k) {
            const QRect cell = cellRect(a, k);
            const int64_t n = count(a, k);
            const double share = rowTotal > 0 ? static_cast<double>(n) / static_cast<double>(rowTotal) : 0.0;
            // Diagonal (right) in blue, mistakes in red: where the errors are jumps out.
            const QColor full = a == k ? QColor(0x1f, 0x77, 0xb4) : QColor(0xd6, 0x27, 0x28);
            const double t = a == k ? share : std::min(1.0, std::sqrt(share) * 1.2);
            const QColor fill = QColor::fromRgbF(1.0 - t * (1.0 - full.redF()), 1.0 - t * (1.0 - full.greenF()),
                                                 1.0 - t * (1.0 - full.blueF()));
            p.fillRect(cell, fill);
            p.setPen(QColor(0, 0, 0, 30));
            p.drawRect(cell);
            if (n > 0 && l.cell >= 18) {
                p.setPen(t > 0.55 ? Qt::white : Qt::black);
                p.drawText(cell, Qt::AlignCenter, QString::number(n));
            }
        }
    }
    if (m_selActual >= 0) {
        p.setPen(QPen(palette().color(QPalette::Highlight), 2.5));
        p.setBrush(Qt::NoBrush);
        p.drawRect(cellRect(m_selActual, m_selPredicted).adjusted(1, 1, -1, -1));
    }
}

} // namespace inspect
