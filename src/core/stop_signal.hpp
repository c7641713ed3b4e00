// Requests to stop early from the job scheduler: SIGTERM (a walltime limit, scancel)
// or SIGUSR1 (Slurm's --signal, PBS's qsig). The handler only records the signal; the
// trainer reads it at its next step, and the ranks agree on it through the gradient
// allreduce (docs/design.md, "The restart contract"), finish that step together,
// checkpoint and exit with exit_status_stopped.
#pragma once

namespace kbnn {

// The exit status of a run stopped by a signal after it wrote its checkpoint: 75,
// EX_TEMPFAIL of sysexits.h ("try again later"). Job scripts resubmit on it.
constexpr int exit_status_stopped = 75;

// Installs the handler for SIGTERM and SIGUSR1 (once per process).
void install_stop_handlers();
// The signal received since the handlers were installed, or 0.
int stop_signal();

}  // namespace kbnn
