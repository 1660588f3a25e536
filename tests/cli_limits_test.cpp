// The `cnnkit` executable on hostile and careless input: each case exits 1 with one line naming
// the limit (and its CNNKIT_MAX_* variable) or the problem, never a crash (139), an endless read or
// std::bad_alloc. Limits are lowered through the environment, so every case stays cheap.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <utility>
#include <vector>

#include "cnnkit/model/model.hpp"
#include "cnnkit/model/model_file.hpp"

extern char** environ;

namespace cnnkit {
namespace {

namespace fs = std::filesystem;

struct Outcome {
  int exit_code = -1;  // 128 + signal if the process died of one
  std::string err;
};

class CliLimitsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("cnnkit_cli_limits_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string path(const std::string& name) const { return (dir_ / name).string(); }

  void write(const std::string& name, const std::string& bytes) const {
    std::ofstream(path(name), std::ios::binary) << bytes;
  }

  // Runs the executable with `args` and the environment plus `variables`; stderr is kept.
  Outcome run(const std::vector<std::string>& args,
              const std::vector<std::pair<std::string, std::string>>& variables = {}) const {
    std::vector<std::string> argv_strings{CNNKIT_EXE};
    argv_strings.insert(argv_strings.end(), args.begin(), args.end());
    std::vector<std::string> env_strings;
    for (char** entry = environ; *entry != nullptr; ++entry) env_strings.emplace_back(*entry);
    for (const auto& [name, value] : variables) env_strings.push_back(name + "=" + value);
    const auto pointers = [](std::vector<std::string>& strings) {
      std::vector<char*> result;
      for (std::string& text : strings) result.push_back(text.data());
      result.push_back(nullptr);
      return result;
    };
    std::vector<char*> argv = pointers(argv_strings);
    std::vector<char*> envp = pointers(env_strings);
    const std::string err_path = path("stderr");
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 2, err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                     0644);
    pid_t pid = 0;
    const int spawned = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    Outcome outcome;
    if (spawned != 0) {
      ADD_FAILURE() << "posix_spawn failed: " << spawned;
      return outcome;
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    outcome.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    std::ifstream err(err_path, std::ios::binary);
    outcome.err.assign(std::istreambuf_iterator<char>(err), std::istreambuf_iterator<char>());
    return outcome;
  }

  // Exit code 1 and one line on stderr holding every one of `parts`.
  static void expect_refusal(const Outcome& outcome, std::initializer_list<std::string> parts) {
    EXPECT_EQ(outcome.exit_code, 1) << outcome.err;
    EXPECT_EQ(std::count(outcome.err.begin(), outcome.err.end(), '\n'), 1) << outcome.err;
    for (const std::string& part : parts) {
      EXPECT_NE(outcome.err.find(part), std::string::npos)
          << "expected: " << part << "\ngot: " << outcome.err;
    }
  }

  // An untrained digits-cnn model file (input [1, 8, 8]); `poison` may change its layers first.
  template <typename Poison>
  std::string digits_model(const std::string& name, Poison poison) const {
    const ModelDescription description = preset("digits-cnn");
    Model<float> model = build_model<float>(description);
    poison(model);
    save_model(path(name), description, model.graph.layers());
    return path(name);
  }

  fs::path dir_;
};

std::string deep_description() {
  return R"({"input_shape": )" + std::string(100'000, '[') + std::string(100'000, ']') +
         R"(, "layers": []})";
}

// A safetensors file with this header and no data.
std::string safetensors_file(const std::string& header) {
  std::string bytes;
  for (std::size_t i = 0; i < 8; ++i) bytes.push_back(static_cast<char>(header.size() >> (8 * i)));
  return bytes + header;
}

TEST_F(CliLimitsTest, DeepJsonExitsWithTheDepthLimitNotASegfault) {
  write("deep.json", deep_description());
  expect_refusal(run({"summary", "--model", path("deep.json")}),
                 {"cnnkit summary: " + path("deep.json") +
                      ": expected arrays and objects nested "
                      "at most 64 deep",
                  "CNNKIT_MAX_JSON_DEPTH"});
  write("deep-header.safetensors", safetensors_file(R"({"a": )" + std::string(100'000, '[') +
                                                    std::string(100'000, ']') + "}"));
  expect_refusal(run({"eval", "--model", path("deep-header.safetensors"), "--data", "digits"}),
                 {"nested at most 64 deep"});
  // The description as a JSON string: every quote escaped.
  std::string metadata;
  for (const char c : deep_description()) {
    if (c == '"') metadata += '\\';
    metadata += c;
  }
  write("deep-metadata.safetensors",
        safetensors_file(R"({"__metadata__": {"format": "cnnkit-model", "format_version": "1", )"
                         R"("cnnkit_model": ")" +
                         metadata + "\"}}"));
  expect_refusal(run({"eval", "--model", path("deep-metadata.safetensors"), "--data", "digits"}),
                 {"(metadata cnnkit_model)", "nested at most 64 deep"});
  // The environment variable raises it.
  write("three.json", R"({"input_shape": [[[4]]], "layers": []})");
  expect_refusal(run({"summary", "--model", path("three.json")}, {{"CNNKIT_MAX_JSON_DEPTH", "2"}}),
                 {"nested at most 2 deep"});
}

TEST_F(CliLimitsTest, SummaryOfHugeLayersFailsWithTheParameterLimit) {
  // 12 fully connected layers of 8192 outputs: 805 million parameters from 500 bytes.
  std::string layers = R"({"type": "Flatten"})";
  for (int i = 0; i < 12; ++i) layers += R"(, {"type": "FullyConnected", "outputs": 8192})";
  write("huge.json", R"({"name": "huge", "input_shape": [1, 8, 8], "loss": "L2Loss", "layers": [)" +
                         layers + "]}");
  expect_refusal(
      run({"summary", "--model", path("huge.json")}, {{"CNNKIT_MAX_PARAMETERS", "100000"}}),
      {"layer 1 (FullyConnected): expected at most 100000 parameters in the whole model",
       "CNNKIT_MAX_PARAMETERS=<n>", "got 0 before this layer and 532480 in it"});
  write("dup.json", R"({"input_shape": [4], "layers": [{"type": "ReLU", "type": "SoftMax"}]})");
  expect_refusal(run({"summary", "--model", path("dup.json")}),
                 {"expected distinct keys in each object, got the key 'type' twice in 'layers'"});
}

TEST_F(CliLimitsTest, LargeFilesDevicesAndHugeImagesAreRefusedBeforeReading) {
  const std::string model = digits_model("model.safetensors", [](Model<float>&) {});
  // A 3 GB file named .png (sparse: it costs no disk), refused by its size alone.
  write("big.png", "");
  fs::resize_file(path("big.png"), 3'000'000'000);
  expect_refusal(run({"predict", "--model", model, path("big.png")}),
                 {"image: '" + path("big.png") + "': expected at most 2147483648 bytes",
                  "CNNKIT_MAX_FILE_BYTES", "got a file of 3000000000 bytes"});
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"eval", "--model", "/dev/zero", "--data", "digits"},
           {"predict", "--model", model, "/dev/zero"},
           {"eval", "--model", model, "--data", "csv:/dev/zero"},
       }) {
    expect_refusal(run(args), {"expected a readable file at '/dev/zero', got a device"});
  }
  // A PNG header of 20000 x 20000 grey pixels: refused from the header, nothing decoded.
  std::string png("\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR\0\0\x4e\x20\0\0\x4e\x20\x08\0\0\0\0\0\0\0\0",
                  33);
  write("huge.png", png);
  expect_refusal(
      run({"predict", "--model", model, path("huge.png")}),
      {"expected at most 67108864 pixels", "CNNKIT_MAX_IMAGE_PIXELS", "got 20000x20000"});
  expect_refusal(
      run({"predict", "--model", model, path("huge.png")}, {{"CNNKIT_MAX_IMAGE_PIXELS", "1000"}}),
      {"expected at most 1000 pixels"});
}

TEST_F(CliLimitsTest, NonFiniteWeightsAreRefusedUnlessAllowed) {
  const std::string model = digits_model("nan.safetensors", [](Model<float>& poisoned) {
    poisoned.graph.layers()[0]->parameters()[0]->value[3] = std::nanf("");
  });
  expect_refusal(run({"eval", "--model", model, "--data", "digits"}),
                 {"tensor 'layer0.weights': expected finite values, got nan at element 3",
                  "--allow-non-finite"});
  const Outcome allowed = run({"eval", "--model", model, "--data", "digits", "--allow-non-finite"});
  EXPECT_EQ(allowed.exit_code, 0) << allowed.err;
}

// CNNKIT_SIMD (docs/CLI.md, Environment): a name that is not a level fails before any work with
// one line; a level the CPU has runs.
TEST_F(CliLimitsTest, CnnkitSimdOfAnotherNameExitsWithOneLine) {
  expect_refusal(run({"summary", "--model", "digits-cnn"}, {{"CNNKIT_SIMD", "sse4"}}),
                 {"cnnkit summary: CNNKIT_SIMD: expected avx512, avx2 or none, got 'sse4'"});
  const Outcome none = run({"summary", "--model", "digits-cnn"}, {{"CNNKIT_SIMD", "none"}});
  EXPECT_EQ(none.exit_code, 0) << none.err;
}

}  // namespace
}  // namespace cnnkit
