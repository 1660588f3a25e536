// Grouped float convolutions on the SIMD kernels (conv2d_fast.hpp): when one group, taken as a
// convolution of its own (group_view: C/groups channels, K/groups kernels), is a geometry the
// fast kernels cover, each group runs as an ordinary fast convolution with the group's rows of
// weights and bias, whole groups to each thread or one group after the other on all threads
// (threads_per_group). The forward reads and writes a group's planes where they lie (the plan's
// sample strides); the backward copies the group's input and error planes of every sample into
// one contiguous batch and its input error back. Each group is an ordinary fast convolution: the
// same bits on 1 to 4 threads, either way. Groups the fast kernels do not cover take im2col +
// GEMM per group (conv2d.cpp).
#include <algorithm>
#include <cstddef>
#include <vector>

#include "cnnkit/threading.hpp"
#include "kernels/conv2d.hpp"
#include "kernels/conv2d_fast.hpp"
#include "kernels/conv2d_fast_run.hpp"
#include "kernels/im2col.hpp"
#include "runtime/parallel.hpp"

namespace cnnkit::kernels {

namespace {

// A tensor of `batch` samples of `groups` slabs each, a slab being `slab` contiguous values (one
// group's planes of a sample), and one group's contiguous copy: its slabs of all samples one
// after the other, the batch the fast kernels run that group on.
struct GroupSlabs {
  std::size_t batch, groups, slab;

  std::size_t whole(std::size_t b, std::size_t j) const { return (b * groups + j) * slab; }
  std::size_t part(std::size_t b) const { return b * slab; }
};

// Group j's slabs of the whole tensor `from` into its contiguous copy `to` (gather), or of the
// copy `from` back into the whole tensor `to`. When a group runs on all threads its samples are
// shared among them (on one thread the copies would hold up the others at every group); inside a
// thread that has whole groups, on that thread.
void copy_group(const float* from, float* to, const GroupSlabs& s, std::size_t j, bool gather) {
  const bool enough_work = s.batch * s.slab >= (std::size_t{1} << 14);
  runtime::parallel_for(s.batch, enough_work, [&](std::size_t b) {
    const std::size_t source = gather ? s.whole(b, j) : s.part(b);
    const std::size_t target = gather ? s.part(b) : s.whole(b, j);
    std::copy(from + source, from + source + s.slab, to + target);
  });
}

// What both directions need of one call: a group's geometry, the SIMD level, and where group j's
// channels, kernels and weights lie.
struct Groups {
  Groups(const ConvGeometry& geometry, runtime::SimdLevel simd_level)
      : g(geometry),
        h(group_view(geometry)),
        level(simd_level),
        weights(h.kernels * h.channels * g.kernel_y * g.kernel_x) {}

  GroupSlabs channels() const { return {g.batch, g.groups, h.channels * g.in_y * g.in_x}; }
  GroupSlabs kernels() const { return {g.batch, g.groups, h.kernels * g.out_y() * g.out_x()}; }

  const ConvGeometry& g;
  ConvGeometry h;
  runtime::SimdLevel level;
  std::size_t weights;  // per group
};

// The SIMD kernels exist only on x86 (conv2d_fast.cpp).
bool grouped_fast_covers(const ConvGeometry& g, runtime::SimdLevel level) {
#if defined(__x86_64__) || defined(__i386__)
  return g.groups > 1 && conv2d_fast_covers(group_view(g), level);
#else
  (void)g, (void)level;
  return false;
#endif
}

// How a call's threads share its groups: whole groups each (a group's convolution on one thread,
// its plan made for one thread) when there are two or more threads and the groups share evenly
// among them, so that no group waits at the kernels' barriers for a team; otherwise the groups
// one after the other, each group's samples shared among all threads. The fast kernels' sums do
// not depend on their threads (their gradient's sample groups follow the batch alone), so both
// give the same bits. Returns the threads each group's plan is made for.
std::size_t threads_per_group(const ConvGeometry& g) {
  const std::size_t threads = num_threads();
  return threads > 1 && g.groups % threads == 0 ? 1 : threads;
}

// group(j, slot) for every group j: on whole groups each (threads_per_group 1), on whichever
// thread is free, `slot` that thread's own; otherwise in order on the calling thread, slot 0.
// The workspace slots that takes:
std::size_t slots(std::size_t per_group) {
  return per_group == 1 ? num_threads() : 1;
}

template <typename Group>
void for_groups(const ConvGeometry& g, std::size_t per_group, const Group& group) {
  if (per_group == 1) {
    runtime::parallel_for(g.groups, true, [&](std::size_t j) { group(j, runtime::this_thread()); });
  } else {
    for (std::size_t j = 0; j < g.groups; ++j) group(j, 0);
  }
}

}  // namespace

bool conv2d_forward_grouped_fast(const ConvGeometry& g, const float* input, const float* weights,
                                 const float* bias, float* output, std::vector<float>& workspace,
                                 runtime::SimdLevel level) {
  if (!grouped_fast_covers(g, level)) return false;
  const Groups groups(g, level);
  const std::size_t per_group = threads_per_group(g);
  // Each group's planes read and written where they lie, one sample's planes to the next apart.
  FastForwardPlan plan = plan_forward(groups.h, groups.level, per_group);
  plan.input_stride = g.channels * g.in_y * g.in_x;
  plan.output_stride = g.kernels * g.out_y() * g.out_x();
  const std::size_t slot = (plan.total + 15) / 16 * 16;
  float* const fast = detail::aligned_start(workspace, slot * slots(per_group));
  for_groups(g, per_group, [&](std::size_t j, std::size_t thread) {
    detail::forward_on(groups.level, plan, input + groups.channels().whole(0, j),
                       weights + j * groups.weights, bias + j * groups.h.kernels,
                       output + groups.kernels().whole(0, j), fast + thread * slot);
  });
  return true;
}

bool conv2d_backward_grouped_fast(const ConvGeometry& g, const float* input, const float* weights,
                                  const float* error, float* input_error, float* weight_gradient,
                                  float* bias_gradient, std::vector<float>& workspace,
                                  runtime::SimdLevel level) {
  if (!grouped_fast_covers(g, level)) return false;
  const Groups groups(g, level);
  const std::size_t per_group = threads_per_group(g);
  const FastBackwardPlan plan = plan_backward(groups.h, groups.level, per_group);
  const detail::CopiedBatches batches =
      detail::copied_batches(workspace, plan.total, groups.h, slots(per_group));
  for_groups(g, per_group, [&](std::size_t j, std::size_t thread) {
    const detail::CopiedBatch at = batches.at(thread);
    copy_group(input, at.input, groups.channels(), j, true);
    copy_group(error, at.output, groups.kernels(), j, true);
    detail::backward_on(groups.level, plan, at.input, weights + j * groups.weights, at.output,
                        input_error == nullptr ? nullptr : at.input_error,
                        weight_gradient + j * groups.weights, bias_gradient + j * groups.h.kernels,
                        at.fast);
    if (input_error != nullptr) {
      copy_group(at.input_error, input_error, groups.channels(), j, false);
    }
  });
  return true;
}

}  // namespace cnnkit::kernels
