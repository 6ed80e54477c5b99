// A one-line progress bar on stderr: redrawn in place on a terminal, a line every few
// seconds otherwise (logs, CI).
#pragma once

#include "nnlab/trainer.h"

#include <chrono>
#include <string>

namespace nnlab::cli {

class ProgressBar {
public:
    explicit ProgressBar(bool enabled);
    void update(const Progress& p);
    // Work that is not training (predictions, exports): `done` of `total` `unit`s.
    void updateItems(int64_t done, int64_t total, const std::string& unit);
    void message(const std::string& line);   // prints a line above the bar
    void finish();

private:
    void draw(bool newline);
    bool m_enabled;
    bool m_terminal;
    Progress m_last;
    std::string m_unit;                      // set: the items form of the line
    std::chrono::steady_clock::time_point m_started = std::chrono::steady_clock::now();
    bool m_drawn = false;
    std::chrono::steady_clock::time_point m_lastLine;
};

} // namespace nnlab::cli
