// cnnkit bench: training and inference throughput of any model on synthetic data of its input
// shape, so that users can measure their own networks on their own machine:
//   cnnkit bench --model fashion-lenet --batch 64 --threads 2
// Training = the trainer's step on the model `cnnkit train` builds, chain or graph (forward, loss,
// backward, the update phase and every parameter's optimizer); inference = forward only in the
// testing phase, on --infer-batch samples (the training batch unless given). Both on one fixed
// random batch, after warm-up steps, timed as the median of --repeats timed runs of --iterations
// steps each. Inference also reports the minor page faults per call in steady state (a call that
// allocates shows them), and --latency adds single-sample inference: the median of --latency-runs
// calls after a tenth as many untimed. --stream N times inference over N distinct samples instead.
// --profile adds each node's milliseconds (bench_profile.hpp). --gradient-groups G times the
// data-parallel step instead (under mpirun on all ranks) and reports each rank's milliseconds per
// step in the sums across ranks, and in a second pass how many of them are waiting for the other
// ranks (timed_communicator.hpp).
#include <sys/resource.h>
#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "bench_profile.hpp"
#include "cnnkit/grouped_step.hpp"
#include "cnnkit/model/evaluation.hpp"
#include "cnnkit/model/model.hpp"
#include "cnnkit/model/model_description.hpp"
#include "cnnkit/random.hpp"
#include "cnnkit/threading.hpp"
#include "cnnkit/training_step.hpp"
#include "command.hpp"
#include "distributed.hpp"
#include "number_options.hpp"
#include "timed_communicator.hpp"

namespace cnnkit::cli {

namespace {

struct BenchArgs {
  std::string model;
  std::size_t batch = 64;
  std::size_t infer_batch = 0;  // 0: the training batch
  std::size_t threads = 0;
  std::size_t iterations = 20;
  std::size_t repeats = 5;
  std::size_t warmup = 3;
  bool latency = false;
  bool profile = false;
  std::size_t latency_runs = 300;
  bool json = false;
  std::size_t gradient_groups = 0;  // 0: the plain step
  std::size_t stream = 0;           // > 0: inference streams this many distinct samples
};

// The same batch on every call: synthetic inputs in [0, 1) and random one-hot labels (random
// targets in [0, 1) for an L2 loss).
class SyntheticBatches : public DataLayer<float> {
 public:
  SyntheticBatches(Shape input_shape, std::size_t outputs, bool one_hot, std::size_t seed) {
    std::mt19937_64 engine(seed);
    std::uniform_real_distribution<float> uniform(0.0f, 1.0f);
    batch_.input = Tensor<float>(std::move(input_shape));
    for (float& value : batch_.input) value = uniform(engine);
    const std::size_t batch = batch_.input.dim(0);
    batch_.label = Tensor<float>({batch, outputs});
    std::uniform_int_distribution<std::size_t> category(0, outputs - 1);
    for (std::size_t i = 0; i < batch; ++i) {
      if (one_hot) {
        batch_.label[i * outputs + category(engine)] = 1.0f;
      } else {
        for (std::size_t j = 0; j < outputs; ++j) batch_.label[i * outputs + j] = uniform(engine);
      }
    }
  }
  Batch<float> next() override { return batch_; }

 private:
  Batch<float> batch_;
};

// Median over repeats of the seconds one call of `step` x iterations takes.
template <typename Step>
double median_seconds(const BenchArgs& args, Step&& step) {
  for (std::size_t i = 0; i < args.warmup; ++i) step();
  std::vector<double> seconds;
  for (std::size_t r = 0; r < args.repeats; ++r) {
    const auto start = std::chrono::steady_clock::now();
    for (std::size_t i = 0; i < args.iterations; ++i) step();
    seconds.push_back(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  std::sort(seconds.begin(), seconds.end());
  return seconds[seconds.size() / 2];
}

long minor_page_faults() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_minflt;
}

// Synthetic inputs in [0, 1) of shape (batch, sample_shape...).
Tensor<float> synthetic_input(std::size_t batch, const Shape& sample_shape, std::size_t seed) {
  Shape shape{batch};
  shape.insert(shape.end(), sample_shape.begin(), sample_shape.end());
  Tensor<float> input(std::move(shape));
  std::mt19937_64 engine(seed);
  std::uniform_real_distribution<float> uniform(0.0f, 1.0f);
  for (float& value : input) value = uniform(engine);
  return input;
}

// The median seconds of one single-sample inference.
double latency_seconds(Model<float>& model, const Tensor<float>& sample, std::size_t runs) {
  for (std::size_t i = 0; i < runs / 10 + 1; ++i) (void)model.forward(sample);
  std::vector<double> seconds;
  seconds.reserve(runs);
  for (std::size_t i = 0; i < runs; ++i) {
    const auto start = std::chrono::steady_clock::now();
    (void)model.forward(sample);
    seconds.push_back(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  std::sort(seconds.begin(), seconds.end());
  return seconds[seconds.size() / 2];
}

// The data-parallel step (GroupedStep) on the ranks mpirun started, or on one process: the
// training images/s of the global batch, printed by rank 0.
int run_grouped_bench(const BenchArgs& args) {
  Ranks ranks;
  set_num_threads(args.threads);
  const ModelDescription description = resolve_model_description(args.model);
  set_seed(0);
  Model<float> model = build_model<float>(description);
  Shape input_shape{args.batch};
  input_shape.insert(input_shape.end(), description.input_shape.begin(),
                     description.input_shape.end());
  SyntheticBatches data(input_shape, num_outputs(description), description.loss != "L2Loss", 1);
  const Batch<float> batch = data.next();
  const std::vector<std::size_t> classes = argmax_rows(batch.label);
  // Copies of the graph for a BatchNorm model's groups side by side (their weights come from the
  // model at every step).
  TimedCommunicator timed(ranks.communicator());
  GroupedStep<float> step(model.graph, *model.loss, timed, args.gradient_groups,
                          [&description] { return build_model<float>(description).graph; });
  std::size_t steps = 0;
  const auto one_step = [&] {
    step.step(batch.input, batch.label, classes);
    ++steps;
  };
  const double train_s = median_seconds(args, one_step);
  // Each rank's milliseconds per step in the sums across ranks in the timed runs, then in a
  // second pass of --iterations steps with a barrier before each sum, those of waiting for the
  // other ranks and of the sums proper; gathered on every rank.
  std::array<double, 3> own_ms{1e3 * timed.transfer_seconds() / static_cast<double>(steps)};
  timed.reset();
  timed.set_barrier_before_sums(true);
  for (std::size_t i = 0; i < args.iterations; ++i) one_step();
  own_ms[1] = 1e3 * timed.wait_seconds() / static_cast<double>(args.iterations);
  own_ms[2] = 1e3 * timed.transfer_seconds() / static_cast<double>(args.iterations);
  std::vector<std::array<double, 3>> rank_ms(ranks.size());
  const std::vector<std::size_t> counts(ranks.size(), sizeof(own_ms));
  ranks.communicator().all_gather(reinterpret_cast<const std::byte*>(own_ms.data()),
                                  reinterpret_cast<std::byte*>(rank_ms.data()), counts);
  if (!ranks.speaks()) return 0;
  const double images = static_cast<double>(args.batch * args.iterations);
  std::printf(
      "%s, global batch %zu in %zu gradient groups, %zu rank(s) x %zu thread(s), "
      "%zu bytes summed per group%s\n",
      description.name.c_str(), args.batch, args.gradient_groups, ranks.size(), num_threads(),
      step.reduced_bytes(), step.synchronised() ? " (BatchNorm synchronised)" : "");
  std::printf("  training:  %10.1f images/s  (%.3f ms per batch)\n", images / train_s,
              1e3 * train_s / static_cast<double>(args.iterations));
  for (std::size_t r = 0; r < rank_ms.size(); ++r) {
    std::printf(
        "  rank %zu: %.3f ms per step in the sums across ranks (with a barrier before each sum: "
        "%.3f ms waiting for the other ranks, %.3f ms in the sums)\n",
        r, rank_ms[r][0], rank_ms[r][1], rank_ms[r][2]);
  }
  return 0;
}

// --stream N: the seconds of one inference pass over N distinct samples (the median of --repeats
// passes after --warmup), as Model.predict in Python and `cnnkit eval` infer: each batch copied
// from one array of all samples into a reused input tensor, the model's prediction copied out.
// Unlike the fixed batch, the input streams from memory instead of staying in the cache.
double streamed_seconds(const BenchArgs& args, Model<float>& model, const Shape& sample_shape,
                        std::size_t infer_batch) {
  const Tensor<float> samples = synthetic_input(args.stream, sample_shape, 4);
  const std::size_t sample_size = element_count(sample_shape);
  std::vector<float> predictions;
  Tensor<float> batch;
  Shape shape{infer_batch};
  shape.insert(shape.end(), sample_shape.begin(), sample_shape.end());
  const auto pass = [&] {
    for (std::size_t first = 0; first < args.stream; first += infer_batch) {
      const std::size_t n = std::min(infer_batch, args.stream - first);
      shape.front() = n;
      batch = Tensor<float>::uninitialized(shape, std::move(batch));
      std::copy_n(samples.data() + first * sample_size, n * sample_size, batch.data());
      const Tensor<float> prediction = model.forward(batch);
      predictions.resize(args.stream * prediction.size() / n);
      std::copy(prediction.begin(), prediction.end(),
                predictions.begin() + static_cast<std::ptrdiff_t>(first * prediction.size() / n));
    }
  };
  BenchArgs passes = args;
  passes.iterations = 1;
  return median_seconds(passes, pass);
}

int run_bench(const BenchArgs& args) {
  if (args.gradient_groups > 0) return run_grouped_bench(args);
  set_num_threads(args.threads);
  const ModelDescription description = resolve_model_description(args.model);
  set_seed(0);
  // Any network, chain or graph, as `cnnkit train` builds it (update phase included).
  Model<float> model = build_model<float>(description);
  Shape input_shape{args.batch};
  input_shape.insert(input_shape.end(), description.input_shape.begin(),
                     description.input_shape.end());
  SyntheticBatches data(input_shape, num_outputs(description), description.loss != "L2Loss", 1);
  const Batch<float> batch = data.next();
  const std::size_t infer_batch = args.infer_batch == 0 ? args.batch : args.infer_batch;
  const Tensor<float> input = synthetic_input(infer_batch, description.input_shape, 2);

  // The trainer's step on the same batch each time: the spent input buffer takes the next copy.
  Tensor<float> step_input = batch.input;
  const auto train_step = [&] {
    std::copy(batch.input.begin(), batch.input.end(), step_input.begin());
    (void)forward_and_loss(model.graph, *model.loss, std::move(step_input), batch.label, "bench");
    step_input = backward_and_update(model.graph, *model.loss, batch.label);
  };
  const double train_s = median_seconds(args, train_step);
  const double infer_s =
      args.stream > 0 ? streamed_seconds(args, model, description.input_shape, infer_batch)
                      : median_seconds(args, [&model, &input] { (void)model.forward(input); });
  // Counted over calls of their own, after the timed ones: the first call's buffers are
  // expected to fault in, a steady-state call's are not.
  const long faults_before = minor_page_faults();
  for (std::size_t i = 0; i < args.iterations; ++i) (void)model.forward(input);
  const double iterations = static_cast<double>(args.iterations);
  const double faults_per_call =
      static_cast<double>(minor_page_faults() - faults_before) / iterations;
  const double train_rate = static_cast<double>(args.batch) * iterations / train_s;
  const double infer_rate = args.stream > 0
                                ? static_cast<double>(args.stream) / infer_s
                                : static_cast<double>(infer_batch) * iterations / infer_s;
  const double latency_us =
      args.latency ? 1e6 * latency_seconds(model, synthetic_input(1, description.input_shape, 3),
                                           args.latency_runs)
                   : 0.0;
  const std::string name = description.name.empty() ? args.model : description.name;
  if (args.json) {
    std::printf(
        "{\"model\": \"%s\", \"batch\": %zu, \"infer_batch\": %zu, \"threads\": %zu, "
        "\"iterations\": %zu, \"train_images_per_s\": %.1f, \"infer_images_per_s\": %.1f, "
        "\"train_ms_per_batch\": %.4f, \"infer_ms_per_batch\": %.4f, "
        "\"infer_minor_faults_per_batch\": %.1f, \"infer_stream\": %zu",
        name.c_str(), args.batch, infer_batch, num_threads(), args.iterations, train_rate,
        infer_rate, 1e3 * train_s / iterations, 1e3 * infer_s / iterations, faults_per_call,
        args.stream);
    if (args.latency) std::printf(", \"latency_us_batch1\": %.1f", latency_us);
    std::printf("}\n");
  } else {
    std::printf("%s, %zu thread(s), synthetic data of shape %s\n", name.c_str(), num_threads(),
                to_string(input_shape).c_str());
    std::printf("  training:  %10.1f images/s  (batch %zu, %.3f ms per batch)\n", train_rate,
                args.batch, 1e3 * train_s / iterations);
    std::printf(
        "  inference: %10.1f images/s  (batch %zu, %.3f ms per batch, %.1f minor page "
        "faults per batch)\n",
        infer_rate, infer_batch, 1e3 * infer_s / iterations, faults_per_call);
    if (args.latency) std::printf("  latency:   %10.1f us for one sample\n", latency_us);
  }
  if (args.profile) {
    print_profile(model.graph, *model.loss, batch.input, batch.label, input, args.warmup,
                  args.iterations);
  }
  return 0;
}

}  // namespace

Command add_bench_command(CLI::App& app) {
  auto args = std::make_shared<BenchArgs>();
  CLI::App* bench = app.add_subcommand(
      "bench", "Training and inference images/s of a model on synthetic data of its input shape");
  bench->add_option("--model", args->model, "Preset or model JSON file")->required();
  bench->add_option("--batch", args->batch, "Samples per batch")
      ->check(whole_number(1, kMaxBatchSize))
      ->capture_default_str();
  bench
      ->add_option("--infer-batch", args->infer_batch,
                   "Samples per inference batch (0: the training batch)")
      ->check(whole_number(0, kMaxBatchSize))
      ->capture_default_str();
  bench->add_flag("--latency", args->latency, "Also time single-sample inference");
  bench
      ->add_option("--latency-runs", args->latency_runs,
                   "Single-sample calls timed for --latency (the median is reported)")
      ->check(whole_number(1, kMaxCount))
      ->capture_default_str();
  bench->add_option("--threads", args->threads, "Threads (0: all cores)")
      ->check(thread_count())
      ->capture_default_str();
  bench->add_option("--iterations", args->iterations, "Steps per timed run")
      ->check(whole_number(1, kMaxCount))
      ->capture_default_str();
  bench->add_option("--repeats", args->repeats, "Timed runs (the median is reported)")
      ->check(whole_number(1, kMaxCount))
      ->capture_default_str();
  bench->add_option("--warmup", args->warmup, "Untimed steps first")
      ->check(whole_number(0, kMaxCount))
      ->capture_default_str();
  bench->add_flag("--json", args->json, "One JSON line instead of text");
  bench->add_flag("--profile", args->profile,
                  "Also print each node's forward, backward and inference milliseconds (median "
                  "of --iterations steps)");
  bench
      ->add_option("--gradient-groups", args->gradient_groups,
                   "Time the data-parallel step with this many groups (also under mpirun: the "
                   "global batch's images/s)")
      ->check(whole_number(1, kMaxBatchSize));
  bench
      ->add_option("--stream", args->stream,
                   "Time inference over this many distinct samples, each batch copied into a "
                   "reused input (as Model.predict and cnnkit eval), instead of one cached batch")
      ->check(whole_number(1, kMaxCount));
  return {bench, [args] { return run_bench(*args); }};
}

}  // namespace cnnkit::cli
