#include "core/stop_signal.hpp"

#include <csignal>

namespace kbnn {
namespace {
volatile std::sig_atomic_t received = 0;
extern "C" void record_signal(int signal) { received = signal; }
}  // namespace

void install_stop_handlers() {
  std::signal(SIGTERM, record_signal);
  std::signal(SIGUSR1, record_signal);
}

int stop_signal() { return received; }

}  // namespace kbnn
