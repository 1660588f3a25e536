// Ctrl-C (SIGINT) and SIGTERM during training: the handler only sets a flag, which the training
// loop reads between batches, so the run stops at a clean point and the last complete checkpoint
// stays intact. A second signal ends the process at once (the handler resets itself).
#pragma once

namespace cnnkit::cli {

void install_interrupt_handlers();
bool interrupt_requested();

}  // namespace cnnkit::cli
