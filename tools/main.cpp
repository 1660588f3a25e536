// cnnkit: train, evaluate and use convolutional neural networks from the command line.
// Every command is one file (see command.hpp); this file only dispatches and reports errors.

#include <exception>
#include <iostream>
#include <string>
#include <vector>

#include "cnnkit/float_environment.hpp"
#include "cnnkit/simd_level.hpp"
#include "cnnkit/threading.hpp"
#include "command.hpp"

namespace {

// Errors are one line: a message with a newline in it would read as two errors.
std::string one_line(std::string message) {
  for (char& c : message) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  while (!message.empty() && message.back() == ' ') message.pop_back();
  return message;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace cnnkit::cli;
  // Flush denormals to zero: late in training, tiny gradients and Adam moments turn denormal
  // and W1 otherwise slows down epoch by epoch for the same accuracy (float_environment.hpp).
  cnnkit::set_flush_denormals(true);
  CLI::App app{"cnnkit: train, evaluate and use convolutional neural networks", "cnnkit"};
  app.require_subcommand(1);
  std::vector<Command> commands;
  for (const auto add : kCommands) commands.push_back(add(app));
  app.set_help_all_flag("--help-all", "Print the help of every command");

  // The command the user asked for (also when parsing its options failed).
  const auto chosen = [&]() -> const Command* {
    for (const Command& command : commands) {
      if (command.app->count() > 0) return &command;
    }
    return nullptr;
  };
  const auto prefix = [&]() {
    const Command* command = chosen();
    return command ? "cnnkit " + command->app->get_name() + ": " : std::string("cnnkit: ");
  };

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& help) {
    return app.exit(help);
  } catch (const CLI::CallForAllHelp& help) {
    return app.exit(help);
  } catch (const CLI::ParseError& error) {
    const Command* command = chosen();
    const std::string help =
        command ? "cnnkit " + command->app->get_name() + " --help" : std::string("cnnkit --help");
    std::cerr << prefix() << one_line(error.what()) << " (see " << help << ")\n";
    return kExitUsage;
  }

  const Command* command = chosen();
  // A BLAS that fell back to generic kernels makes training slower without any error: say so.
  if (const std::string hint = cnnkit::blas_speed_hint(); !hint.empty()) {
    std::cerr << "cnnkit: note: " << hint << "\n";
  }
  try {
    (void)cnnkit::simd_level();  // a wrong CNNKIT_SIMD fails here, before any work
    return command->run();
  } catch (const UsageError& error) {
    std::cerr << prefix() << one_line(error.what()) << " (see cnnkit " << command->app->get_name()
              << " --help)\n";
    return kExitUsage;
  } catch (const std::exception& error) {
    std::cerr << prefix() << one_line(error.what()) << "\n";
    return kExitFailure;
  }
}
