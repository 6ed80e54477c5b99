// The hyperparameters panel: optimizer and its fields (the learning rate with a log slider),
// loss, training options, and the learning-rate schedule with a live plot of the rate over
// every step of the run.
#pragma once

#include "core/experiment_document.h"
#include "step_plan.h"

#include <QWidget>

class FormBinder;
class QCustomPlot;
class QLabel;

class HyperparametersPanel : public QWidget {
    Q_OBJECT
public:
    explicit HyperparametersPanel(ExperimentDocument* doc, QWidget* parent = nullptr);

    QCustomPlot* schedulePlot() const { return m_plot; }
    const StepPlan& stepPlan() const { return m_plan; }

    // At most this many points are plotted; longer runs are sampled evenly, first and last
    // step included.
    static constexpr int kMaxPlotPoints = 2000;

public slots:
    // The training samples the data preview found (DataPanel::trainSampleCountChanged), used
    // for the step count until the data options change; <= 0 forgets it.
    void setLoadedTrainSamples(qint64 count);

private:
    QWidget* buildOptimizer();
    QWidget* buildSchedule();
    QWidget* buildTraining();
    void refresh();
    void updateVisibility();
    void updatePlot();
    std::string dataKey() const;

    ExperimentDocument* m_doc;
    FormBinder* m_optimizer = nullptr;
    FormBinder* m_schedule = nullptr;
    FormBinder* m_training = nullptr;
    QCustomPlot* m_plot = nullptr;
    QLabel* m_planLabel = nullptr;
    StepPlan m_plan;
    qint64 m_loadedSamples = 0;
    std::string m_loadedKey;   // the data options m_loadedSamples belongs to
};
