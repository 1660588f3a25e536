// The commands of the `cnnkit` executable. Each lives in its own tools/<name>.cpp and is one entry
// of kCommands below; main.cpp parses the command line, runs the chosen command and turns every
// error into one line "cnnkit <command>: <message>" on stderr.
#pragma once

#include <CLI/CLI.hpp>
#include <array>
#include <functional>
#include <stdexcept>

namespace cnnkit::cli {

// A command line that is wrong in a way CLI11 cannot see (a missing --model, a --data spec of an
// unknown kind): exit code 2 like CLI11's own usage errors, instead of 1.
struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Exit codes: 0 done, 1 the command failed, 2 usage error, 130 interrupted (Ctrl-C, SIGTERM).
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitInterrupted = 130;

struct Command {
  CLI::App* app;             // the subcommand, with its options
  std::function<int()> run;  // what it does once parsed; returns the exit code
};

// Each adds its subcommand to `app` and returns it with its action.
Command add_train_command(CLI::App& app);
Command add_eval_command(CLI::App& app);
Command add_predict_command(CLI::App& app);
Command add_summary_command(CLI::App& app);
Command add_bench_command(CLI::App& app);

// Every command, in the order `cnnkit --help` lists them. A new command is tools/<name>.cpp
// defining add_<name>_command (declared above) plus its entry here.
inline constexpr std::array kCommands{&add_train_command, &add_eval_command, &add_predict_command,
                                      &add_summary_command, &add_bench_command};

}  // namespace cnnkit::cli
