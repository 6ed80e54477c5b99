// Ctrl+C and SIGTERM cancel the engine work in progress (a run, a range test, a pre-flight,
// a sweep) through its TrainControl instead of killing the process, so checkpoints and the
// run store are left consistent. One scope at a time; the default handlers return after it.
#pragma once

#include "nnlab/trainer.h"

#include <csignal>

namespace nnlab::cli {

class CancelOnSignal {
public:
    explicit CancelOnSignal(TrainControl& control)
    {
        s_control = &control;
        std::signal(SIGINT, onSignal);
        std::signal(SIGTERM, onSignal);
    }
    ~CancelOnSignal()
    {
        std::signal(SIGINT, SIG_DFL);
        std::signal(SIGTERM, SIG_DFL);
        s_control = nullptr;
    }
    CancelOnSignal(const CancelOnSignal&) = delete;
    CancelOnSignal& operator=(const CancelOnSignal&) = delete;

private:
    static void onSignal(int)
    {
        if (s_control)
            s_control->cancelFromSignal();   // async-signal-safe: an atomic store
    }
    static inline TrainControl* s_control = nullptr;
};

} // namespace nnlab::cli
