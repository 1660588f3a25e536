// The convolution sweep, cnnkit's side: times the Conv layer's forward and backward on each
// geometry of a cases file (bench/sweep_cases.py writes it; bench/torch_sweep.py times PyTorch on
// the same list) and prints one JSON line per case.
//   cnnkit_conv_sweep --cases cases.json [--threads N] [--repeats 5] [--only s01,s32]
//                     [--clock wall|cpu]
// --only times the named cases alone; --clock cpu measures the process's CPU time instead of
// the wall clock (summed over threads: for one-thread A/B runs on a machine others share).
// Forward runs in the training phase (the layer keeps its input, as in a training step);
// backward computes the input error and the weight and bias gradients (updates deferred, so no
// optimizer runs). Each figure is the median of --repeats timed calls after one untimed call;
// the input is restored outside the timer before each call.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <iterator>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cnnkit/layers/conv.hpp"
#include "cnnkit/threading.hpp"

namespace {

using cnnkit::Conv;
using cnnkit::Shape;
using cnnkit::Tensor;

struct Timing {
  double forward_ms;
  double backward_ms;
};

bool cpu_clock = false;  // --clock cpu

// Now, in milliseconds: the wall clock or (--clock cpu) the process's CPU time.
double now_ms() {
  if (cpu_clock) {
    timespec time{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &time);
    return static_cast<double>(time.tv_sec) * 1e3 + static_cast<double>(time.tv_nsec) * 1e-6;
  }
  return std::chrono::duration<double, std::milli>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

Timing time_case(const nlohmann::json& spec, std::size_t repeats) {
  const auto size = spec.at("size").get<std::vector<std::size_t>>();
  const auto kernel = spec.at("kernel").get<std::vector<std::size_t>>();
  const auto stride = spec.at("stride").get<std::vector<std::size_t>>();
  const auto channels = spec.at("channels").get<std::size_t>();
  Shape input_shape{spec.at("batch").get<std::size_t>(), channels};
  input_shape.insert(input_shape.end(), size.begin(), size.end());
  Shape convolution_shape{channels};
  convolution_shape.insert(convolution_shape.end(), kernel.begin(), kernel.end());

  Conv<float> conv(Shape(stride.begin(), stride.end()), convolution_shape,
                   spec.at("kernels").get<std::size_t>());
  conv.set_updates_deferred(true);
  std::mt19937 engine(0);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  Tensor<float> pristine(input_shape);
  for (float& value : pristine) value = normal(engine);
  Tensor<float> error(conv.output_shape(input_shape));
  for (float& value : error) value = normal(engine);

  std::vector<double> forward_ms, backward_ms;
  Tensor<float> input = pristine;
  Tensor<float> error_buffer = error;
  for (std::size_t call = 0; call <= repeats; ++call) {
    std::copy(pristine.begin(), pristine.end(), input.begin());
    std::copy(error.begin(), error.end(), error_buffer.begin());
    double start = now_ms();
    Tensor<float> output = conv.forward(std::move(input));
    const double forward = now_ms() - start;
    start = now_ms();
    input = conv.backward(std::move(error_buffer));
    const double backward = now_ms() - start;
    error_buffer = std::move(output);  // the output's buffer takes the next error
    if (call == 0) continue;           // untimed: first-touch of every buffer
    forward_ms.push_back(forward);
    backward_ms.push_back(backward);
  }
  return {median(forward_ms), median(backward_ms)};
}

}  // namespace

int main(int argc, char** argv) {
  std::string cases_path, only;
  std::size_t threads = 0, repeats = 5;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string option = argv[i];
    if (option == "--cases") {
      cases_path = argv[i + 1];
    } else if (option == "--threads") {
      threads = std::stoul(argv[i + 1]);
    } else if (option == "--repeats") {
      repeats = std::max<std::size_t>(1, std::stoul(argv[i + 1]));
    } else if (option == "--only") {
      only = "," + std::string(argv[i + 1]) + ",";
    } else if (option == "--clock") {
      cpu_clock = std::string(argv[i + 1]) == "cpu";
    } else {
      std::fprintf(stderr, "cnnkit_conv_sweep: unknown option '%s'\n", option.c_str());
      return 2;
    }
  }
  if (cases_path.empty()) {
    std::fprintf(stderr,
                 "usage: cnnkit_conv_sweep --cases FILE [--threads N] [--repeats R] "
                 "[--only NAME,NAME] [--clock wall|cpu]\n");
    return 2;
  }
  std::ifstream file(cases_path);
  if (!file) {
    std::fprintf(stderr, "cnnkit_conv_sweep: cannot read '%s'\n", cases_path.c_str());
    return 1;
  }
  const nlohmann::json cases = nlohmann::json::parse(file);
  cnnkit::set_num_threads(threads);
  for (const nlohmann::json& spec : cases) {
    const std::string name = spec.at("name").get<std::string>();
    if (!only.empty() && only.find("," + name + ",") == std::string::npos) continue;
    const Timing timing = time_case(spec, repeats);
    std::printf(
        "{\"case\": \"%s\", \"threads\": %zu, \"ms_forward\": %.4f, \"ms_backward\": %.4f}\n",
        name.c_str(), cnnkit::num_threads(), timing.forward_ms, timing.backward_ms);
    std::fflush(stdout);
  }
  return 0;
}
