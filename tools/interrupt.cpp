#include "interrupt.hpp"

#include <csignal>

namespace cnnkit::cli {

namespace {

// A signal handler can only talk to the program through a volatile sig_atomic_t with static
// storage: the one global of the tool, written by the handler and read between batches.
volatile std::sig_atomic_t interrupted = 0;

void on_signal(int /*signal*/) {
  interrupted = 1;
}

}  // namespace

void install_interrupt_handlers() {
  struct sigaction action {};
  action.sa_handler = on_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESETHAND;  // the second Ctrl-C gets the default action: exit now
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
}

bool interrupt_requested() {
  return interrupted != 0;
}

}  // namespace cnnkit::cli
