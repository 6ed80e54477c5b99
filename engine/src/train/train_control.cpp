// TrainControl (nnlab/trainer.h): pause, resume and cancel from any thread. No LibTorch here:
// the window links this directly and loads the trainer itself later (engine/src/lazy).
#include "nnlab/trainer.h"

#include <mutex>

namespace nnlab {

TrainControl::~TrainControl()
{
    std::lock_guard<std::mutex> lock(m_mutex);
}

void TrainControl::pause() { m_paused = true; }

void TrainControl::resume()
{
    std::lock_guard<std::mutex> lock(m_mutex);
    m_paused = false;
    m_wake.notify_all();
}

void TrainControl::cancel()
{
    std::lock_guard<std::mutex> lock(m_mutex);
    m_cancelled = true;
    m_wake.notify_all();
}

bool TrainControl::waitWhilePaused()
{
    if (m_paused.load()) {
        std::unique_lock<std::mutex> lock(m_mutex);
        m_wake.wait(lock, [this] { return !m_paused.load() || m_cancelled.load(); });
    }
    return !m_cancelled.load();
}

} // namespace nnlab
