// The charts' finer store reads, off the GUI thread.
//
// A zoom into a long stored series first draws from the overview the series already holds
// (metric_series.h BucketSeries), within the frame; the finer read for the new view then runs
// on this loader's thread, on its own read-only connection to the store, and the buckets land
// on the GUI thread later, as TensorBoard's charts refine after a zoom. A new batch of
// requests replaces the one not yet started: after a quick series of zooms only the reads for
// the last view are done.
#pragma once

#include "charts/metric_series.h"

#include <QObject>
#include <QString>

#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace charts {

struct DetailRead {
    QString runId;
    QString tag;
    DetailRequest request;
};

struct DetailResult {
    DetailRead read;
    bool ok = false;
    std::vector<SeriesBucket> buckets;
    QString error;   // when !ok: the store's message
};

class DetailLoader {
public:
    // `delivered` runs on `context`'s thread (queued) each time results are ready; take them
    // with takeResults(). The store is opened read-only on the loader's thread, on first use.
    DetailLoader(QObject* context, std::function<void()> delivered);
    ~DetailLoader();
    DetailLoader(const DetailLoader&) = delete;
    DetailLoader& operator=(const DetailLoader&) = delete;

    // The store file reads go to; a change drops what is queued (its runs were another file's).
    void setStorePath(const QString& path);
    // Replaces the queued batch (a read already running finishes).
    void request(std::vector<DetailRead> reads);
    std::vector<DetailResult> takeResults();
    // True while reads are queued or running.
    bool busy() const;
    // Blocks until nothing is queued or running (for tests and the benchmark); false on timeout.
    bool waitIdle(int timeoutMs) const;

private:
    void loop();

    QObject* m_context;
    std::function<void()> m_delivered;
    mutable std::mutex m_mutex;
    mutable std::condition_variable m_wake;   // new work or stop
    mutable std::condition_variable m_idle;   // queue empty and nothing running
    QString m_path;
    uint64_t m_pathVersion = 0;
    std::vector<DetailRead> m_queue;
    std::vector<DetailResult> m_results;
    bool m_running = false;
    bool m_stop = false;
    std::thread m_thread;
};

} // namespace charts
