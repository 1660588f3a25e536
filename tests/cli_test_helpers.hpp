// Running the real `cnnkit` executable (CNNKIT_EXE) from the CLI tests: a process with stdout and
// stderr captured in files, its exit code, and a temporary folder per test process.
#pragma once

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace cnnkit::testing {

namespace fs = std::filesystem;

struct Result {
  int exit_code = -1;  // 128 + signal if the process died of one
  std::string out;
  std::string err;
};

// Sample `index` of the 8x8 digits (values in [0, 1], 64 per sample) as 8-bit grey pixels, as
// an image file of it holds them.
inline std::vector<unsigned char> digit_pixels(const float* inputs, std::size_t index) {
  std::vector<unsigned char> pixels(64);
  for (std::size_t p = 0; p < 64; ++p) {
    pixels[p] = static_cast<unsigned char>(inputs[index * 64 + p] * 255.0f + 0.5f);
  }
  return pixels;
}

inline std::string read_file(const fs::path& path) {
  std::ifstream file(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>()};
}

inline void write_file(const fs::path& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

// Starts the executable with stdout and stderr going to files, in `directory` if one is given
// (else in this process's working directory); returns its pid.
inline pid_t start(const std::vector<std::string>& args, const fs::path& out, const fs::path& err,
                   const fs::path& directory = {}) {
  std::vector<std::string> argv_strings{CNNKIT_EXE};
  argv_strings.insert(argv_strings.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& arg : argv_strings) argv.push_back(arg.data());
  argv.push_back(nullptr);
  const pid_t pid = fork();
  if (pid == 0) {
    std::freopen(out.c_str(), "w", stdout);
    std::freopen(err.c_str(), "w", stderr);
    if (!directory.empty() && chdir(directory.c_str()) != 0) _exit(126);
    execv(argv[0], argv.data());
    _exit(127);
  }
  return pid;
}

inline int wait_for(pid_t pid) {
  int status = 0;
  waitpid(pid, &status, 0);
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  return 128 + WTERMSIG(status);
}

// Exactly one line on stderr, starting with "cnnkit <command>: ".
inline void expect_one_error_line(const Result& result, const std::string& command) {
  EXPECT_EQ(result.err.rfind("cnnkit " + command + ": ", 0), 0u) << result.err;
  EXPECT_EQ(std::count(result.err.begin(), result.err.end(), '\n'), 1) << result.err;
}

// A test suite that runs the executable, with a temporary folder of its own (removed afterwards).
class CliSuite : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    root_ = fs::temp_directory_path() / ("cnnkit_cli_test_" + std::to_string(getpid()));
    fs::remove_all(root_);
    fs::create_directories(root_);
  }
  static void TearDownTestSuite() { fs::remove_all(root_); }

  // Runs the executable to its end, in `directory` if one is given.
  static Result run(const std::vector<std::string>& args, const fs::path& directory = {}) {
    static int counter = 0;
    const fs::path out = root_ / ("out" + std::to_string(++counter));
    const fs::path err = root_ / ("err" + std::to_string(counter));
    Result result;
    result.exit_code = wait_for(start(args, out, err, directory));
    result.out = read_file(out);
    result.err = read_file(err);
    return result;
  }

  inline static fs::path root_;
};

}  // namespace cnnkit::testing
