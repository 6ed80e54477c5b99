#include "charts/detail_loader.h"

#include "nnlab/store.h"

#include <QMetaObject>

#include <chrono>
#include <memory>

namespace charts {

DetailLoader::DetailLoader(QObject* context, std::function<void()> delivered)
    : m_context(context)
    , m_delivered(std::move(delivered))
{
    m_thread = std::thread([this] { loop(); });
}

DetailLoader::~DetailLoader()
{
    {
        std::lock_guard<std::mutex> lock(m_mutex);
        m_stop = true;
        m_queue.clear();
    }
    m_wake.notify_all();
    m_thread.join();
}

void DetailLoader::setStorePath(const QString& path)
{
    std::lock_guard<std::mutex> lock(m_mutex);
    if (path == m_path)
        return;
    m_path = path;
    ++m_pathVersion;
    m_queue.clear();
    m_results.clear();
    m_idle.notify_all();
}

void DetailLoader::request(std::vector<DetailRead> reads)
{
    {
        std::lock_guard<std::mutex> lock(m_mutex);
        m_queue = std::move(reads);
        if (m_queue.empty() && !m_running)
            m_idle.notify_all();
    }
    m_wake.notify_one();
}

std::vector<DetailResult> DetailLoader::takeResults()
{
    std::lock_guard<std::mutex> lock(m_mutex);
    std::vector<DetailResult> out;
    out.swap(m_results);
    return out;
}

bool DetailLoader::busy() const
{
    std::lock_guard<std::mutex> lock(m_mutex);
    return m_running || !m_queue.empty();
}

bool DetailLoader::waitIdle(int timeoutMs) const
{
    std::unique_lock<std::mutex> lock(m_mutex);
    return m_idle.wait_for(lock, std::chrono::milliseconds(timeoutMs),
                           [this] { return !m_running && m_queue.empty(); });
}

void DetailLoader::loop()
{
    std::unique_ptr<nnlab::RunStore> store;
    uint64_t storeVersion = 0;
    std::unique_lock<std::mutex> lock(m_mutex);
    for (;;) {
        m_wake.wait(lock, [this] { return m_stop || !m_queue.empty(); });
        if (m_stop)
            return;
        // One read at a time, taken from the front, so a new batch replaces the rest.
        DetailRead read = std::move(m_queue.front());
        m_queue.erase(m_queue.begin());
        m_running = true;
        const QString path = m_path;
        const uint64_t version = m_pathVersion;
        lock.unlock();

        DetailResult result;
        result.read = read;
        if (!store || storeVersion != version) {
            store.reset();
            nnlab::StoreOptions options;
            options.readOnly = true;
            auto opened = nnlab::RunStore::open(path.toStdString(), options);
            if (opened.ok()) {
                store = std::move(opened.value);
                storeVersion = version;
            } else {
                result.error = QString::fromStdString(opened.error.message);
            }
        }
        if (store) {
            auto buckets = store->seriesDownsampled(read.runId.toStdString(), read.tag.toStdString(),
                                                    read.request.stepMin, read.request.stepMax,
                                                    read.request.buckets);
            result.ok = buckets.ok();
            if (result.ok)
                result.buckets = std::move(buckets.value);
            else
                result.error = QString::fromStdString(buckets.error.message);
        }

        lock.lock();
        m_running = false;
        const bool current = version == m_pathVersion && !m_stop;
        if (current)
            m_results.push_back(std::move(result));
        // Deliver once a batch is done: one redraw for all its series.
        const bool batchDone = m_queue.empty();
        if (batchDone)
            m_idle.notify_all();
        if (current && batchDone) {
            lock.unlock();
            QMetaObject::invokeMethod(m_context, m_delivered, Qt::QueuedConnection);
            lock.lock();
        }
    }
}

} // namespace charts
