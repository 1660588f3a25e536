// libFuzzer target for the command line of the `cnnkit` executable: the input, split at NUL bytes,
// is the argument list, parsed by the same CLI11 app main.cpp builds (every command of kCommands
// with its options and checks). The command is not run. CLI11's ParseError (and the UsageError of
// the tools) is the expected rejection; a crash, a sanitizer report or another exception is a
// finding.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "command.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::vector<std::string> arguments{""};
  for (std::size_t i = 0; i < size; ++i) {
    if (data[i] == 0) {
      arguments.emplace_back();
    } else {
      arguments.back().push_back(static_cast<char>(data[i]));
    }
  }
  // CLI11 takes the arguments in reverse order, the last first.
  std::vector<std::string> reversed(arguments.rbegin(), arguments.rend());
  CLI::App app{"cnnkit", "cnnkit"};
  app.require_subcommand(1);
  std::vector<cnnkit::cli::Command> commands;
  for (const auto add : cnnkit::cli::kCommands) commands.push_back(add(app));
  try {
    app.parse(reversed);
  } catch (const CLI::ParseError&) {
  } catch (const cnnkit::cli::UsageError&) {
  }
  return 0;
}
