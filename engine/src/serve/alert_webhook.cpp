#include "alert_webhook.h"

#include <httplib.h>
#include <nlohmann/json.hpp>

#include <cstdio>

namespace nnlab::serve {

namespace {
constexpr size_t kMaxQueued = 100;   // beyond this a dead receiver costs alerts, not memory
}

std::optional<WebhookTarget> parseWebhookUrl(const std::string& url, std::string& error)
{
    const std::string scheme = "http://";
    const std::string allowed = "only http://127.0.0.1[:port]/path or http://localhost[:port]/path";
    if (url.compare(0, scheme.size(), scheme) != 0) {
        error = "webhook '" + url + "': " + allowed + " (plain http on this machine)";
        return std::nullopt;
    }
    const std::string rest = url.substr(scheme.size());
    const size_t slash = rest.find('/');
    const std::string authority = rest.substr(0, slash);
    WebhookTarget target;
    target.path = slash == std::string::npos ? "/" : rest.substr(slash);
    const size_t colon = authority.find(':');
    target.host = authority.substr(0, colon);
    if (target.host != "127.0.0.1" && target.host != "localhost") {
        error = "webhook '" + url + "': host '" + target.host + "' refused; " + allowed;
        return std::nullopt;
    }
    if (colon != std::string::npos) {
        const std::string port = authority.substr(colon + 1);
        const bool digits = !port.empty() && port.size() <= 5 &&
                            port.find_first_not_of("0123456789") == std::string::npos;
        target.port = digits ? std::stoi(port) : 0;
        if (target.port < 1 || target.port > 65535) {
            error = "webhook '" + url + "': port '" + port + "' is not 1..65535";
            return std::nullopt;
        }
    }
    return target;
}

AlertWebhook::AlertWebhook(WebhookTarget target, std::string runId)
    : m_target(std::move(target)), m_runId(std::move(runId))
{
    m_thread = std::thread([this] { loop(); });
}

AlertWebhook::~AlertWebhook()
{
    {
        std::lock_guard<std::mutex> lock(m_mutex);
        m_stopping = true;
    }
    m_wake.notify_all();
    m_thread.join();
}

void AlertWebhook::post(const ServeAlert& alert, const std::string& metric)
{
    const nlohmann::json body = {{"run", m_runId},          {"time", alert.time},
                                 {"monitor", alert.monitor}, {"metric", metric},
                                 {"message", alert.message}, {"value", alert.value},
                                 {"threshold", alert.threshold}};
    std::lock_guard<std::mutex> lock(m_mutex);
    if (m_bodies.size() >= kMaxQueued)
        m_bodies.pop_front();
    m_bodies.push_back(body.dump());
    m_wake.notify_one();
}

void AlertWebhook::loop()
{
    httplib::Client client(m_target.host, m_target.port);
    client.set_connection_timeout(2, 0);
    client.set_read_timeout(5, 0);
    client.set_write_timeout(5, 0);
    std::unique_lock<std::mutex> lock(m_mutex);
    for (;;) {
        m_wake.wait(lock, [&] { return m_stopping || !m_bodies.empty(); });
        if (m_bodies.empty())
            return;   // stopping with nothing left
        const std::string body = std::move(m_bodies.front());
        m_bodies.pop_front();
        lock.unlock();
        const auto result = client.Post(m_target.path, body, "application/json");
        if (!result)
            std::fprintf(stderr, "serve: webhook http://%s:%d%s failed: %s\n", m_target.host.c_str(), m_target.port,
                         m_target.path.c_str(), httplib::to_string(result.error()).c_str());
        else if (result->status >= 300)
            std::fprintf(stderr, "serve: webhook http://%s:%d%s answered %d\n", m_target.host.c_str(),
                         m_target.port, m_target.path.c_str(), result->status);
        lock.lock();
    }
}

} // namespace nnlab::serve
