// cnnkit on the reference workloads of docs/WORKLOADS.md, printing one JSON line per figure
// with the field names of ../shared/bench/torch_ref.py so that bench/compare.py can set the two
// side by side:
//   cnnkit_bench --workload w1|w2|w3|all --threads N --epochs E --seed S [--repeats R]
//                [--float-data] [--data DIR] [--digits FILE]
// Only the work is timed: data sets are in memory before any clock starts. Each line also
// carries peak_rss_mb, the process's peak resident memory so far (getrusage ru_maxrss); run one
// workload per process for a per-workload figure (compare.py does).
//
// Choices kept identical to torch_ref.py: "same" padding (2 for 5x5, 1 for 3x3, Hout =
// ceil(H / stride)), He(fan_in) weights and 0.1 biases, cross-entropy summed over the batch,
// W1's short last batch kept, inference in batches of 1000 (one warm-up pass, median of 3),
// W2's 200 distinct random training images per iteration, W3 medians over the repeats.
//
// Process settings, both on by default and reported in the W1 lines: glibc keeps freed memory
// (as torch_ref.py --malloc-keep; off with --no-malloc-keep) and denormals are flushed to zero
// (MXCSR FTZ/DAZ; off with --no-ftz).
//
// W1 keeps the training images as bytes and scales each batch by 1/255 as it is drawn (what
// a user with an 8-bit image set would do); --float-data holds them as float32 instead, as
// torch_ref.py does, for a like-for-like memory figure.
#include <malloc.h>
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <numeric>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "bench_data.hpp"
#include "bench_networks.hpp"
#include "bench_report.hpp"
#include "cnnkit/cnnkit.hpp"
#include "cnnkit/data/builtin.hpp"
#include "cnnkit/data/dataset.hpp"
#include "cnnkit/data/idx.hpp"
#include "kernels/conv2d.hpp"
#include "kernels/conv2d_fast.hpp"
#include "runtime/parallel.hpp"

namespace {

using cnnkit::Shape;
using cnnkit::Tensor;
using namespace cnnkit::bench;  // the helpers of bench_*.hpp

struct Options {
  std::string workload = "all";
  std::size_t threads = 0;  // 0: all cores
  std::size_t epochs = 1;
  std::uint64_t seed = 0;
  std::size_t repeats = 20;
  std::size_t warmup = 3;
  bool float_data = false;
  bool profile = false;
  bool malloc_keep = true;
  bool ftz = true;
  std::string data_dir = cnnkit::kFashionMnistDir;
  std::string digits = CNNKIT_DIGITS_FILE;
};

// ------------------------------------------------------------------------- evaluation ----

std::size_t argmax_row(const Tensor<float>& scores, std::size_t row) {
  const std::size_t classes = scores.dim(1);
  const float* begin = scores.data() + row * classes;
  return static_cast<std::size_t>(std::max_element(begin, begin + classes) - begin);
}

// Accuracy of `net` on pre-cut batches; returns correct / total.
double evaluate(cnnkit::NeuralNetwork<float>& net, const std::vector<Tensor<float>>& batches,
                const std::vector<std::size_t>& labels) {
  std::size_t correct = 0, seen = 0;
  for (const Tensor<float>& batch : batches) {
    const Tensor<float> scores = net.test(batch);
    for (std::size_t i = 0; i < scores.dim(0); ++i, ++seen) {
      correct += argmax_row(scores, i) == labels[seen] ? 1 : 0;
    }
  }
  return static_cast<double>(correct) / static_cast<double>(seen);
}

// ------------------------------------------------------------------------- workloads ----

void run_w1(const Options& o) {
  const std::string dir = o.data_dir;
  const auto path = [&dir](const char* name) { return dir + "/" + name; };
  // Bytes as stored (the default) or float32 pixels (--float-data). The test set is cut into
  // float batches of 1000 up front (what net.test consumes), without a second float copy.
  const cnnkit::IdxArray train_images = stream_idx(path("train-images-idx3-ubyte.gz"));
  const cnnkit::IdxArray train_labels = stream_idx(path("train-labels-idx1-ubyte.gz"));
  std::unique_ptr<cnnkit::Dataset<float>> train_float;
  if (o.float_data) {
    train_float = std::make_unique<cnnkit::Dataset<float>>(cnnkit::make_idx_dataset<float>(
        train_images, train_labels, {}, "train images", "train labels"));
  }
  std::vector<Tensor<float>> test_batches;
  std::vector<std::size_t> test_labels;
  {
    const cnnkit::IdxArray images = stream_idx(path("t10k-images-idx3-ubyte.gz"));
    const cnnkit::IdxArray labels = stream_idx(path("t10k-labels-idx1-ubyte.gz"));
    const std::size_t count = labels.dims[0], pixels = images.dims[1] * images.dims[2];
    for (std::size_t first = 0; first < count; first += 1000) {
      const std::size_t n = std::min<std::size_t>(1000, count - first);
      Tensor<float> batch({n, 1, images.dims[1], images.dims[2]});
      for (std::size_t i = 0; i < n * pixels; ++i) {
        batch[i] = static_cast<float>(images.bytes[first * pixels + i]) / 255.0f;
      }
      test_batches.push_back(std::move(batch));
    }
    test_labels.assign(labels.bytes.begin(), labels.bytes.end());
  }
  const std::size_t n = train_labels.dims[0], n_test = test_labels.size();
  log("w1: train " + std::to_string(n) + " images, test " + std::to_string(n_test) +
      ", peak RSS so far " + std::to_string(static_cast<int>(peak_rss_mb())) + " MB");

  cnnkit::set_seed(o.seed);
  auto net = lenet();
  if (o.float_data) {
    net->set_data_layer(std::make_unique<cnnkit::BatchIterator<float>>(*train_float, 64, true));
  } else {
    net->set_data_layer(std::make_unique<ByteImageBatches>(train_images, train_labels, 64));
  }
  const std::size_t batches_per_epoch = (n + 63) / 64;
  double total_train_s = 0.0;
  for (std::size_t epoch = 1; epoch <= o.epochs; ++epoch) {
    const std::size_t losses_before = net->loss().size();
    const Clock::time_point start = Clock::now();
    net->train(batches_per_epoch);
    const double train_s = seconds_since(start);
    total_train_s += train_s;
    log("w1: epoch " + std::to_string(epoch) + " trained, peak RSS so far " +
        std::to_string(static_cast<int>(peak_rss_mb())) + " MB");
    const std::vector<float>& losses = net->loss();
    const double loss_sum =
        std::accumulate(losses.begin() + static_cast<long>(losses_before), losses.end(), 0.0);

    evaluate(*net, test_batches, test_labels);  // warm-up
    std::vector<double> times;
    double accuracy = 0.0;
    for (int r = 0; r < 3; ++r) {
      const Clock::time_point t0 = Clock::now();
      accuracy = evaluate(*net, test_batches, test_labels);
      times.push_back(seconds_since(t0));
    }
    std::sort(times.begin(), times.end());
    const double infer_s = times[1];
    Json()
        .add("workload", "w1")
        .add("threads", cnnkit::num_threads())
        .add("seed", static_cast<std::size_t>(o.seed))
        .add("epoch", epoch)
        .add("train_s", rounded(train_s, 3))
        .add("train_images_per_s", rounded(static_cast<double>(n) / train_s, 1))
        .add("cumulative_train_s", rounded(total_train_s, 3))
        .add("mean_train_loss", rounded(loss_sum / static_cast<double>(n), 4))
        .add("infer_s", rounded(infer_s, 4))
        .add("infer_images_per_s", rounded(static_cast<double>(n_test) / infer_s, 1))
        .add("test_accuracy", rounded(accuracy, 4))
        .add("float_data", o.float_data)
        .add("ftz", o.ftz)
        .add("peak_rss_mb", rounded(peak_rss_mb(), 1))
        .print();
  }
}

void run_w2(const Options& o) {
  const cnnkit::Dataset<float> digits = cnnkit::load_digits<float>(o.digits);
  const auto [train, test] = cnnkit::shuffled_split(digits, cnnkit::kDigitsSplit.train_fraction,
                                                    cnnkit::kDigitsSplit.split_seed + o.seed);
  log("w2: train " + std::to_string(train.size()) + ", test " + std::to_string(test.size()));
  cnnkit::set_seed(o.seed);
  auto net = digits_cnn();
  const std::size_t iterations = 200, batch = 200;
  net->set_data_layer(std::make_unique<RandomDraws>(train, batch));
  const Clock::time_point start = Clock::now();
  net->train(iterations);
  const double wall_s = seconds_since(start);
  const double accuracy = evaluate(*net, {test.inputs}, test.labels);
  Json()
      .add("workload", "w2")
      .add("threads", cnnkit::num_threads())
      .add("seed", static_cast<std::size_t>(o.seed))
      .add("iterations", iterations)
      .add("batch", batch)
      .add("n_train", train.size())
      .add("n_test", test.size())
      .add("wall_s", rounded(wall_s, 4))
      .add("ms_per_iteration", rounded(1e3 * wall_s / static_cast<double>(iterations), 3))
      .add("final_batch_loss", rounded(net->loss().back() / static_cast<double>(batch), 4))
      .add("test_accuracy", rounded(accuracy, 4))
      .add("peak_rss_mb", rounded(peak_rss_mb(), 1))
      .print();
}

struct W3Case {
  const char* name;
  std::size_t n, c, hw, k, kernel, stride;
};

void run_w3(const Options& o) {
  const W3Case cases[] = {{"a", 64, 1, 28, 6, 5, 1},
                          {"b", 64, 6, 14, 16, 5, 1},
                          {"c", 32, 64, 32, 64, 3, 1},
                          {"d", 32, 128, 16, 128, 3, 2}};
  const std::size_t repeats = std::max<std::size_t>(10, o.repeats);
  std::mt19937 engine(static_cast<unsigned>(o.seed));
  std::normal_distribution<float> normal(0.0f, 1.0f);
  for (const W3Case& w : cases) {
    cnnkit::Conv<float> conv(Shape{w.stride, w.stride}, Shape{w.c, w.kernel, w.kernel}, w.k);
    cnnkit::He<float> he;
    cnnkit::Constant<float> bias(0.1f);
    conv.initialize(he, bias);
    Tensor<float> x({w.n, w.c, w.hw, w.hw});
    for (float& v : x) v = normal(engine);
    const Shape out_shape = conv.output_shape(x.shape());
    Tensor<float> g(out_shape);
    for (float& v : g) v = normal(engine);
    const std::size_t hout = out_shape[2];
    const double flops =
        2.0 * static_cast<double>(w.n * w.k * w.c * w.kernel * w.kernel * hout * hout);

    const auto time_ms = [&](auto&& fn) {
      for (std::size_t i = 0; i < o.warmup; ++i) fn();
      std::vector<double> t;
      for (std::size_t i = 0; i < repeats; ++i) {
        const Clock::time_point t0 = Clock::now();
        fn();
        t.push_back(1e3 * seconds_since(t0));
      }
      std::sort(t.begin(), t.end());
      const double median =
          t.size() % 2 ? t[t.size() / 2] : 0.5 * (t[t.size() / 2 - 1] + t[t.size() / 2]);
      return std::pair<double, double>{median, t.front()};
    };
    // The layer's kernels on buffers allocated once, as torch_ref.py times F.conv2d and
    // autograd.grad; the Conv layer itself (which also copies its input for backward and
    // returns new tensors) is timed as well, in the *_layer fields.
    const cnnkit::kernels::ConvGeometry geometry{w.n,      w.c,      w.hw,     w.hw,    w.k,
                                                 w.kernel, w.kernel, w.stride, w.stride};
    std::vector<float> out(geometry.output_size()), dx(geometry.input_size());
    std::vector<float> dw(geometry.weights_size()), db(w.k), workspace;
    const float* weights = conv.weights().data();
    const float* biases = conv.bias().data();
    const auto [ms_fwd, ms_fwd_min] = time_ms([&] {
      cnnkit::kernels::conv2d_forward(geometry, x.data(), weights, biases, out.data(), workspace);
    });
    const auto [ms_bwd, ms_bwd_min] = time_ms([&] {
      cnnkit::kernels::conv2d_backward(geometry, x.data(), weights, g.data(), dx.data(), dw.data(),
                                       db.data(), workspace);
    });
    const double ms_fwd_layer = time_ms([&] { (void)conv.forward(x); }).first;
    // backward() needs a fresh forward(): the pair is timed, the forward's median taken off.
    const double ms_bwd_layer = time_ms([&] {
                                  (void)conv.forward(x);
                                  (void)conv.backward(g);
                                }).first -
                                ms_fwd_layer;
    const std::string kernel = std::to_string(w.kernel) + "x" + std::to_string(w.kernel);
    Json()
        .add("workload", "w3")
        .add("case", w.name)
        .add("threads", cnnkit::num_threads())
        .add("N", w.n)
        .add("C", w.c)
        .add("H", w.hw)
        .add("W", w.hw)
        .add("K", w.k)
        .add("kernel", kernel)
        .add("stride", w.stride)
        .add("padding", (w.kernel - 1) / 2)
        .add("Hout", hout)
        .add("Wout", hout)
        .add("repeats", repeats)
        .add("ms_forward", rounded(ms_fwd, 4))
        .add("ms_backward", rounded(ms_bwd, 4))
        .add("gflops_forward", rounded(flops / ms_fwd / 1e6, 2))
        .add("gflops_backward", rounded(2 * flops / ms_bwd / 1e6, 2))
        .add("ms_forward_min", rounded(ms_fwd_min, 4))
        .add("ms_backward_min", rounded(ms_bwd_min, 4))
        .add("ms_forward_layer", rounded(ms_fwd_layer, 4))
        .add("ms_backward_layer", rounded(ms_bwd_layer, 4))
        .add("simd", cnnkit::runtime::to_string(cnnkit::runtime::best_simd_level()))
        .add("peak_rss_mb", rounded(peak_rss_mb(), 1))
        .print();
  }
}

// Where a W1 training step spends its time: each layer's forward and backward, the loss and the
// optimizers' update, on one synthetic batch of 64, median over `repeats` steps.
// Thread CPU time of the calling thread when running on one thread (robust to a busy machine),
// wall time otherwise.
void run_w1_profile(const Options& o) {
  cnnkit::set_seed(o.seed);
  auto net = lenet();
  const auto& layers = net->layers();
  std::mt19937 engine(static_cast<unsigned>(o.seed));
  std::uniform_real_distribution<float> uniform(0.0f, 1.0f);
  Tensor<float> input({64, 1, 28, 28});
  for (float& v : input) v = uniform(engine);
  Tensor<float> label({64, 10});
  for (std::size_t i = 0; i < 64; ++i) label[i * 10 + i % 10] = 1.0f;
  cnnkit::CrossEntropyLoss<float> loss;
  const bool cpu_clock = cnnkit::num_threads() == 1;
  const auto now_ms = [cpu_clock] {
    if (cpu_clock) {
      timespec t{};
      clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
      return 1e3 * static_cast<double>(t.tv_sec) + 1e-6 * static_cast<double>(t.tv_nsec);
    }
    return 1e3 * std::chrono::duration<double>(Clock::now().time_since_epoch()).count();
  };
  const std::size_t steps = std::max<std::size_t>(o.repeats, 10);
  std::vector<std::vector<double>> fwd(layers.size()), bwd(layers.size());
  std::vector<double> loss_ms, update_ms;
  cnnkit::Graph<float>& graph = net->graph();
  // Each node's time is the time since the last node (or the start of the pass) ended.
  std::size_t step = 0;
  double last = 0.0;
  graph.set_observer([&](std::size_t node, bool backward) {
    const double t = now_ms();
    if (step >= o.warmup) (backward ? bwd : fwd)[node].push_back(t - last);
    last = now_ms();
  });
  for (; step < steps + o.warmup; ++step) {
    last = now_ms();
    Tensor<float> x = graph.forward(Tensor<float>(input));  // as NeuralNetwork runs it
    const double t0 = now_ms();
    (void)loss.forward(std::move(x), label);
    Tensor<float> e = loss.backward(label);
    if (step >= o.warmup) loss_ms.push_back(now_ms() - t0);
    last = now_ms();
    (void)graph.backward(std::move(e));
    const double t1 = now_ms();
    graph.update();
    if (step >= o.warmup) update_ms.push_back(now_ms() - t1);
  }
  graph.set_observer(nullptr);
  const auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  };
  double total = median(loss_ms) + median(update_ms);
  for (std::size_t i = 0; i < layers.size(); ++i) {
    total += median(fwd[i]) + median(bwd[i]);
    Json()
        .add("workload", "w1_profile")
        .add("threads", cnnkit::num_threads())
        .add("layer", i)
        .add("type", layers[i]->type())
        .add("ms_forward", rounded(median(fwd[i]), 4))
        .add("ms_backward", rounded(median(bwd[i]), 4))
        .print();
  }
  Json()
      .add("workload", "w1_profile")
      .add("threads", cnnkit::num_threads())
      .add("layer", "loss")
      .add("ms_forward_and_backward", rounded(median(loss_ms), 4))
      .add("ms_update", rounded(median(update_ms), 4))
      .add("ms_step", rounded(total, 4))
      .add("images_per_s", rounded(64.0 / (total / 1e3), 1))
      .add("clock", cpu_clock ? "thread cpu" : "wall")
      .print();
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw std::invalid_argument("cnnkit_bench: " + arg + " needs a value");
      return argv[++i];
    };
    if (arg == "--workload") {
      o.workload = value();
    } else if (arg == "--threads") {
      o.threads = std::stoul(value());
    } else if (arg == "--epochs") {
      o.epochs = std::stoul(value());
    } else if (arg == "--seed") {
      o.seed = std::stoull(value());
    } else if (arg == "--repeats") {
      o.repeats = std::stoul(value());
    } else if (arg == "--warmup") {
      o.warmup = std::stoul(value());
    } else if (arg == "--no-ftz") {
      o.ftz = false;
    } else if (arg == "--no-malloc-keep") {
      o.malloc_keep = false;
    } else if (arg == "--profile") {
      o.profile = true;
    } else if (arg == "--float-data") {
      o.float_data = true;
    } else if (arg == "--data") {
      o.data_dir = value();
    } else if (arg == "--digits") {
      o.digits = value();
    } else if (arg == "--help" || arg == "-h") {
      std::printf(
          "cnnkit_bench --workload w1|w2|w3|all [--threads N (0 = all cores)] [--epochs E]\n"
          "             [--seed S] [--repeats R] [--warmup W] [--float-data] [--data DIR]\n"
          "             [--digits FILE] [--profile] [--no-ftz] [--no-malloc-keep]\n"
          "--profile: per-layer forward/backward times of W1's network (batch 64, synthetic\n"
          "           data, the calling thread's CPU time) instead of the workloads\n");
      std::exit(0);
    } else {
      throw std::invalid_argument("cnnkit_bench: unknown argument " + arg + " (see --help)");
    }
  }
  if (o.workload != "w1" && o.workload != "w2" && o.workload != "w3" && o.workload != "all") {
    throw std::invalid_argument("cnnkit_bench: expected --workload w1, w2, w3 or all, got " +
                                o.workload);
  }
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const Options o = parse(argc, argv);
    if (o.malloc_keep) {
      // As torch_ref.py --malloc-keep: glibc otherwise hands every freed multi-MB tensor back to
      // the system and page-faults it in again on the next call (inference: in the testing
      // phase the layers return new tensors; training recycles its buffers).
      mallopt(M_TRIM_THRESHOLD, 1 << 30);
      mallopt(M_MMAP_THRESHOLD, 32 << 20);
    }
    cnnkit::set_num_threads(o.threads);
    // Without it training slows down epoch by epoch on CPUs where denormal arithmetic is slow, as
    // tiny gradients and Adam moments turn denormal; the accuracies printed are the same either
    // way.
    if (o.ftz) cnnkit::set_flush_denormals(true);
    log("cnnkit_bench: threads " + std::to_string(cnnkit::num_threads()) + ", simd " +
        cnnkit::runtime::to_string(cnnkit::runtime::best_simd_level()));
    if (o.profile) {
      run_w1_profile(o);
      return 0;
    }
    const std::vector<std::string> all{"w1", "w2", "w3"};
    for (const std::string& w : o.workload == "all" ? all : std::vector<std::string>{o.workload}) {
      const Clock::time_point start = Clock::now();
      if (w == "w1") run_w1(o);
      if (w == "w2") run_w2(o);
      if (w == "w3") run_w3(o);
      char done[96];
      std::snprintf(done, sizeof done, "%s: done in %.1f s (wall, including loading)", w.c_str(),
                    seconds_since(start));
      log(done);
    }
  } catch (const std::exception& error) {
    std::fprintf(stderr, "%s\n", error.what());
    return 1;
  }
  return 0;
}
