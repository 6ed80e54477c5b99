// The Filters & Feature Maps dock, for a trained run (stored, or live once it finished):
// the first conv layer's filters as an image grid, and the output of a chosen layer for a
// chosen input (a validation sample by number, or an image file dropped on the dock), one
// map a channel. The model (loadTrainedWeights, best checkpoint) and the validation set are
// loaded once on a pool thread; each feature-map request runs there too.
#pragma once

#include "nnlab/inspect.h"

#include <QWidget>

#include <memory>
#include <vector>

class ImageGrid;
class QComboBox;
class QLabel;
class QSpinBox;

namespace inspect {

class FeaturesPanel : public QWidget {
    Q_OBJECT
public:
    explicit FeaturesPanel(QWidget* parent = nullptr);

    void showStoredRun(const QString& storePath, const QString& runId);
    // Shows an image file's feature maps (what dropping it does).
    void showImageFile(const QString& path);
    void setLayer(const QString& layerPath);
    void setSample(int index);

    QString runId() const { return m_runId; }
    ImageGrid* filters() const { return m_filters; }
    ImageGrid* maps() const { return m_maps; }
    QComboBox* layerCombo() const { return m_layerCombo; }
    bool isLoading() const { return m_pending > 0; }
    QString status() const;

signals:
    void loadingFinished();

protected:
    void dragEnterEvent(QDragEnterEvent* event) override;
    void dropEvent(QDropEvent* event) override;

private:
    struct Model {
        std::shared_ptr<const nnlab::TrainedWeights> weights;
        nnlab::FilterBank filters;
        std::vector<nnlab::InspectableLayer> layers;
        std::vector<float> samples;         // validation inputs, raw, up to kMaxSamples
        std::vector<int64_t> labels;
        std::vector<std::string> classNames;
        int64_t sampleSize = 0;
    };
    struct Loaded {
        QString runId;
        QString error;
        std::shared_ptr<const Model> model;
    };
    struct Maps {
        QString error;
        nnlab::FeatureMaps maps;
        QString inputName;
    };
    static Loaded loadModel(const QString& storePath, const QString& runId);

    void buildUi();
    void applyModel(const Loaded& loaded);
    void requestMaps();
    void requestMapsFor(std::vector<float> raw, const QString& inputName);
    void applyMaps(const Maps& maps);

    QString m_runId;
    std::shared_ptr<const Model> m_model;
    std::vector<float> m_droppedInput;
    QString m_droppedName;
    ImageGrid* m_filters = nullptr;
    QLabel* m_filtersTitle = nullptr;
    ImageGrid* m_maps = nullptr;
    QLabel* m_mapsTitle = nullptr;
    QLabel* m_input = nullptr;
    QComboBox* m_layerCombo = nullptr;
    QSpinBox* m_sampleSpin = nullptr;
    QLabel* m_status = nullptr;
    int m_request = 0;      // the run shown
    int m_mapRequest = 0;   // the newest feature-map request
    int m_pending = 0;
};

} // namespace inspect
