// Numeric options read as what they are: a whole number in a range, or a positive finite number.
// CLI11 reads an unsigned option with strtoull, which takes "-1" as 2^64 - 1 (`--epochs -1` would
// train forever), "010" as octal 8 and "0x10" as 16; these validators see the text first and let
// through only decimal digits inside the option's range, so any other value is a usage error
// (exit code 2) whose message names the option, the range and what came.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>

namespace cnnkit::cli {

// Upper bounds of the options, documented in docs/CLI.md. They stop absurd values (a typo, a
// wrapped negative number), not large runs.
inline constexpr std::uint64_t kMaxCount = 1'000'000;   // epochs, iterations, repeats, --top
inline constexpr std::uint64_t kMaxBatchSize = 65'536;  // samples per batch

// Training steps: warm-up, step size and length of a learning-rate schedule.
inline constexpr std::uint64_t kMaxSteps = 1'000'000'000;

// A whole number from `lowest` to `highest`, in decimal digits.
CLI::Validator whole_number(std::uint64_t lowest, std::uint64_t highest);

// A number above 0 and finite (a learning rate); CLI::PositiveNumber lets "inf" through.
CLI::Validator positive_finite_number();
// A number >= 0 and finite (a weight decay).
CLI::Validator non_negative_finite_number();

// A number strictly between 0 and 1 (--validation-split).
CLI::Validator open_unit_fraction();

// --threads: 0 (all cores) or 1 up to cnnkit::kMaxThreads.
CLI::Validator thread_count();

}  // namespace cnnkit::cli
