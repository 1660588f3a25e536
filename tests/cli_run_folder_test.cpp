// The run folder of `cnnkit train`: the default folder stays inside runs/ whatever the model's
// name, one run at a time per folder (the second is refused with the first one's pid), temporary
// files of a killed run removed at the next start, and an unwritable --out refused before training.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "cli_test_helpers.hpp"

namespace cnnkit {
namespace {

namespace fs = std::filesystem;
using testing::read_file;
using testing::Result;
using testing::write_file;

class CliRunFolderTest : public testing::CliSuite {
 protected:
  // The iris MLP under another name: one epoch of it takes milliseconds.
  static fs::path iris_model_named(const std::string& name, const std::string& file) {
    const fs::path path = root_ / file;
    write_file(path, R"({"name": ")" + name + R"(", "input_shape": [4], "layers": [
        {"type": "FullyConnected", "outputs": 3}, {"type": "SoftMax"}]})");
    return path;
  }

  static std::vector<std::string> entries(const fs::path& folder) {
    std::vector<std::string> names;
    for (const auto& entry : fs::directory_iterator(folder)) {
      names.push_back(entry.path().filename().string());
    }
    std::sort(names.begin(), names.end());
    return names;
  }
};

TEST_F(CliRunFolderTest, TheDefaultFolderStaysInsideRunsWhateverTheModelName) {
  const fs::path work = root_ / "work" / "inner";
  fs::create_directories(work);
  const fs::path absolute = root_ / "absolute-target";
  const std::vector<std::pair<std::string, std::string>> names{
      {"../../escaped", "___.._escaped"},  // would be root_/escaped
      {absolute.string(), ""},             // the sanitised absolute path, checked below
      {"..", "__"},
      {"", "model"}};
  for (const auto& [name, folder] : names) {
    SCOPED_TRACE("name '" + name + "'");
    const Result result = run({"train", "--model", iris_model_named(name, "named.json").string(),
                               "--data", "iris", "--epochs", "1", "--threads", "1"},
                              work);
    ASSERT_EQ(result.exit_code, 0) << result.err;
    if (!folder.empty()) {
      EXPECT_TRUE(fs::is_regular_file(work / "runs" / folder / "model.safetensors"));
    }
  }
  EXPECT_FALSE(fs::exists(root_ / "escaped"));
  EXPECT_FALSE(fs::exists(absolute));
  // Every run went into a folder of its own right inside runs/, and nothing else was written.
  std::string sanitised_absolute = absolute.string();
  std::replace(sanitised_absolute.begin(), sanitised_absolute.end(), '/', '_');
  EXPECT_EQ(entries(work), std::vector<std::string>{"runs"});
  EXPECT_EQ(entries(work / "runs"),
            (std::vector<std::string>{"__", "___.._escaped", sanitised_absolute, "model"}));
}

// Polls until `path` holds `text` (at most 60 s).
bool wait_until_contains(const fs::path& path, const std::string& text) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (read_file(path).find(text) == std::string::npos) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return true;
}

TEST_F(CliRunFolderTest, ASecondRunIntoTheSameFolderIsRefusedWithTheFirstRunsPid) {
  const fs::path dir = root_ / "shared";
  const std::vector<std::string> common{"train",     "--model", "digits-cnn", "--data",    "digits",
                                        "--threads", "1",       "--out",      dir.string()};
  // The first run: batch size 1 makes its epochs long (1198 updates each).
  std::vector<std::string> long_run = common;
  long_run.insert(long_run.end(), {"--epochs", "1000", "--batch-size", "1"});
  const pid_t first = testing::start(long_run, root_ / "first.out", root_ / "first.err");
  ASSERT_TRUE(wait_until_contains(root_ / "first.out", "model digits-cnn"))
      << read_file(root_ / "first.err");
  // What a write in progress of the first run looks like; the refused run must not touch it.
  const fs::path in_progress = dir / "metrics.csv.tmp-inprogress";
  write_file(in_progress, "epoch,");

  std::vector<std::string> short_run = common;
  short_run.insert(short_run.end(), {"--epochs", "1"});
  const Result second = run(short_run);
  kill(first, SIGKILL);  // no clean exit: the kernel alone releases the lock
  testing::wait_for(first);
  EXPECT_EQ(second.exit_code, 1) << second.err;
  testing::expect_one_error_line(second, "train");
  EXPECT_NE(second.err.find("--out: expected a folder no other run is writing, got '" +
                            dir.string() + "': folder in use by pid " + std::to_string(first)),
            std::string::npos)
      << second.err;
  EXPECT_TRUE(fs::exists(in_progress));

  // The first run is gone: the folder is free again, and its leftover is removed.
  const Result third = run(short_run);
  EXPECT_EQ(third.exit_code, 0) << third.err;
  EXPECT_FALSE(fs::exists(in_progress));
}

TEST_F(CliRunFolderTest, TemporaryFilesOfAKilledRunAreRemovedAtTheNextStart) {
  const fs::path dir = root_ / "stale";
  fs::create_directories(dir);
  for (const char* name : {"checkpoint.safetensors.tmp-a1b2c3", "model.safetensors.tmp-zzzzzz",
                           "curves.png.tmp", "samples.png.tmp-x", "notes.txt.tmp-1"}) {
    write_file(dir / name, "half a file");
  }
  const Result result =
      run({"train", "--model", iris_model_named("stale", "stale.json").string(), "--data", "iris",
           "--epochs", "1", "--threads", "1", "--out", dir.string()});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  // The run's own files and the lock; a file that is not the run's stays.
  EXPECT_EQ(entries(dir), (std::vector<std::string>{".lock", "checkpoint.safetensors",
                                                    "confusion.png", "curves.png", "metrics.csv",
                                                    "model.safetensors", "notes.txt.tmp-1"}));
}

// Root ignores permission bits, so the unwritable folder is one of /proc, where nobody may create
// a file.
TEST_F(CliRunFolderTest, AnUnwritableOutFailsBeforeTheFirstEpoch) {
  const Result result = run({"train", "--model", "digits-cnn", "--data", "digits", "--epochs", "1",
                             "--out", "/proc/self"});
  EXPECT_EQ(result.exit_code, 1) << result.err;
  testing::expect_one_error_line(result, "train");
  EXPECT_NE(result.err.find("--out: expected a writable folder, got '/proc/self' (cannot create a "
                            "file in it: "),
            std::string::npos)
      << result.err;
  EXPECT_EQ(result.out.find("epoch"), std::string::npos) << result.out;
}

}  // namespace
}  // namespace cnnkit
