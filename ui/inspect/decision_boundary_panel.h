// The Decision Boundary dock: for 2-feature classification data, the model's class
// probabilities over the input plane behind the training and validation points (as
// TensorFlow Playground), each small hidden layer's neurons on the same plane below, and a
// slider that scrubs through the recorded boundaries.
//
// Sources: a live run (beginLiveRun, then addSnapshots with the trainer's batches) or a
// stored run (showStoredRun: its experiment, points and snapshots are read on a pool
// thread). Every recorded boundary is kept (a 40 x 40 x 3 grid is 19 KB), so the slider
// scrubs a live run's history too; at its right end it follows the newest.
//
// Redraws are coalesced: snapshots only append to memory and arm a single-shot timer, so the
// plot is redrawn at most 4 times a second however fast boundaries arrive (redrawCount()).
#pragma once

#include "boundary_view.h"
#include "neuron_grid.h"
#include "plane_data.h"

#include "nnlab/snapshot.h"
#include "nnlab/spec.h"

#include <QElapsedTimer>
#include <QFutureWatcher>
#include <QTimer>
#include <QWidget>

#include <map>
#include <vector>

class QCheckBox;
class QLabel;
class QSlider;
class QStackedWidget;

namespace inspect {

class DecisionBoundaryPanel : public QWidget {
    Q_OBJECT
public:
    static constexpr int kRedrawIntervalMs = 250;   // <= 4 redraws a second

    explicit DecisionBoundaryPanel(QWidget* parent = nullptr);

    // A run starts training with this experiment: forget what was shown, load its points.
    void beginLiveRun(const QString& runId, const nnlab::ExperimentSpec& spec);
    // The live run's snapshots (any kinds; the boundary kinds are kept).
    void addSnapshots(const QString& runId, const std::vector<nnlab::Snapshot>& snapshots);
    // Shows a stored run; its data are read in the background (loadingFinished when done).
    void showStoredRun(const QString& storePath, const QString& runId);
    // Shows an experiment's points with no boundary yet (the editor's experiment).
    void showExperiment(const nnlab::ExperimentSpec& spec);

    QString runId() const { return m_runId; }
    bool isTwoD() const { return m_twoD; }
    int frameCount() const { return static_cast<int>(m_frames.size()); }
    // The step of the boundary at slider position `position`; -1 when out of range.
    int64_t stepAt(int position) const;
    int position() const;
    void setPosition(int position);       // as dragging the slider there
    int64_t shownStep() const { return m_shownStep; }
    int redrawCount() const { return m_redrawCount; }
    QString message() const;
    bool isLoading() const { return m_pending > 0; }
    void redrawNow();

    BoundaryView* view() const { return m_view; }
    NeuronGrid* neurons() const { return m_neurons; }
    QSlider* slider() const { return m_slider; }

signals:
    void loadingFinished();
    void errorOccurred(const QString& message);

private:
    struct Stored {
        QString runId;
        QString error;
        PlaneData points;
        std::vector<nnlab::Snapshot> boundaries;
        std::vector<nnlab::Snapshot> neurons;
    };
    static Stored loadStored(const QString& storePath, const QString& runId);

    void buildUi();
    void reset(const QString& runId);
    void loadPoints(const nnlab::ExperimentSpec& spec);
    void applyPoints(const PlaneData& data);
    void applyStored(const Stored& stored);
    void addBoundary(const nnlab::Snapshot& snapshot);
    void addNeurons(const nnlab::Snapshot& snapshot);
    void updateSlider();
    void scheduleRedraw();
    void redraw();
    void showMessage(const QString& text);

    QString m_runId;
    bool m_twoD = true;
    bool m_follow = true;
    std::vector<BoundaryGrid> m_frames;                       // by step
    std::map<QString, std::vector<BoundaryGrid>> m_neuronFrames;   // by layer path, by step
    int64_t m_shownStep = -1;
    int m_redrawCount = 0;

    QStackedWidget* m_stack = nullptr;
    QLabel* m_message = nullptr;
    BoundaryView* m_view = nullptr;
    NeuronGrid* m_neurons = nullptr;
    QWidget* m_neuronArea = nullptr;   // hidden while there are no neuron maps
    QSlider* m_slider = nullptr;
    QLabel* m_stepLabel = nullptr;
    QLabel* m_status = nullptr;
    QCheckBox* m_trainBox = nullptr;
    QCheckBox* m_validationBox = nullptr;

    QTimer m_redrawTimer;
    QElapsedTimer m_sinceRedraw;
    // Background loads: each has its own watcher; only the newest request's result is used.
    template <typename T, typename Apply>
    void whenDone(QFuture<T> future, Apply apply);
    int m_request = 0;
    int m_pending = 0;
};

} // namespace inspect
