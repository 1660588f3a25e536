// The polyphase path for stride-1 dilated float convolutions (conv2d_dilated.hpp). The copies
// into and out of the phase images are one pass over the input and the output (or error) per
// call, run sample by sample in parallel; every copy writes its own values, so the thread count
// changes no bits.
#include "kernels/conv2d_dilated.hpp"

#include <algorithm>
#include <cstddef>
#include <type_traits>
#include <vector>

#include "cnnkit/threading.hpp"
#include "kernels/conv2d_fast.hpp"
#include "kernels/conv2d_fast_run.hpp"
#include "runtime/parallel.hpp"

namespace cnnkit::kernels {

namespace {

// Stride 1, an odd kernel and at most d*(k-1)/2 padding on each side: every output is an output
// of the "same" convolution of one phase image (conv2d_dilated.hpp).
bool axis_fits(std::size_t stride, std::size_t kernel, std::size_t dilation, std::size_t before,
               std::size_t after) {
  const std::size_t half_span = dilation * (kernel - 1) / 2;
  return stride == 1 && kernel % 2 == 1 && before <= half_span && after <= half_span;
}

// A dilated geometry (as rows, as_rows) and its phase convolution.
struct Phases {
  explicit Phases(const ConvGeometry& geometry)
      : g(as_rows(geometry)),
        dy(g.dilation_y),
        dx(g.dilation_x),
        offset_y(dy * (g.kernel_y - 1) / 2 - g.pad_y_before()),
        offset_x(dx * (g.kernel_x - 1) / 2 - g.pad_x_before()) {
    h = g;
    h.batch = g.batch * dy * dx;
    h.in_y = (g.in_y + dy - 1) / dy;
    h.in_x = (g.in_x + dx - 1) / dx;
    h.dilation_y = h.dilation_x = 1;
    h.explicit_padding = false;
    h.pad_top = h.pad_bottom = h.pad_left = h.pad_right = 0;
  }

  ConvGeometry g;
  std::size_t dy, dx;
  // Image pixel (y, x) of an output plane is phase pixel ((y + offset_y) / dy, (x + offset_x) /
  // dx) of phase ((y + offset_y) % dy, (x + offset_x) % dx); input planes have offsets 0.
  std::size_t offset_y, offset_x;
  ConvGeometry h;  // N*dy*dx phase images, taps one pixel apart, "same" padding
};

bool covers(const Phases& p, runtime::SimdLevel level) {
  const ConvGeometry& g = p.g;
  return g.groups == 1 && (p.dy > 1 || p.dx > 1) && g.kernel_y > 0 && g.kernel_x > 0 &&
         axis_fits(g.stride_y, g.kernel_y, p.dy, g.pad_y_before(), g.pad_y_after()) &&
         axis_fits(g.stride_x, g.kernel_x, p.dx, g.pad_x_before(), g.pad_x_after()) &&
         g.out_y() > 0 && g.out_x() > 0 && conv2d_fast_covers(p.h, level);
}

// A tensor of `planes` planes of rows x cols per sample that has phase images of p.h's size:
// image pixel (y, x) is phase pixel ((y + offset_y) / dy, (x + offset_x) / dx) of phase
// ((y + offset_y) % dy, (x + offset_x) % dx) (input planes: offsets 0; output planes: p's).
struct PhasedPlanes {
  std::size_t planes, rows, cols, offset_y, offset_x;

  // Whether its pixels are all of the phase images' pixels: nothing is left to clear.
  bool covers_phases(const Phases& p, std::size_t phase_rows, std::size_t phase_cols) const {
    return offset_y == 0 && offset_x == 0 && rows == phase_rows * p.dy && cols == phase_cols * p.dx;
  }
};

// Calls copy(phase offset, image offset, count) for each run of a plane row's pixels that lie
// in one phase row: image pixels x0, x0 + dx, ... are phase pixels q0, q0 + 1, ... Every copy
// writes its own values, so the samples go to whichever thread is free.
template <typename Copy>
void walk(const Phases& p, const PhasedPlanes& t, const Copy& copy) {
  const std::size_t dy = p.dy, dx = p.dx, py = p.h.in_y, px = p.h.in_x;
  // Phase column b's run, the same in every row: first image column x0, first phase column q0.
  struct Run {
    std::size_t x0, q0, count;
  };
  std::vector<Run> runs;
  for (std::size_t b = 0; b < dx; ++b) {
    const std::size_t x0 = (b + dx - t.offset_x % dx) % dx;
    runs.push_back(x0 < t.cols ? Run{x0, (x0 + t.offset_x) / dx, (t.cols - x0 + dx - 1) / dx}
                               : Run{0, 0, 0});
  }
  const bool enough_work = p.g.batch * t.planes * t.rows * t.cols >= (std::size_t{1} << 16);
  runtime::parallel_for(p.g.batch, enough_work, [&](std::size_t n) {
    for (std::size_t c = 0; c < t.planes; ++c) {
      for (std::size_t y = 0; y < t.rows; ++y) {
        const std::size_t a = (y + t.offset_y) % dy, r = (y + t.offset_y) / dy;
        const std::size_t image_row = ((n * t.planes + c) * t.rows + y) * t.cols;
        // Phase (a, b) of sample n is phase sample (n * dy + a) * dx + b.
        std::size_t phase_row = ((((n * dy + a) * dx) * t.planes + c) * py + r) * px;
        for (const Run& run : runs) {
          if (run.count > 0) copy(phase_row + run.q0, image_row + run.x0, run.count);
          phase_row += t.planes * py * px;
        }
      }
    }
  });
}

// Image to phases (kToPhases) or back, with the step dx a constant for the compiler where given
// as one: it then turns the strided loops into vector shuffles.
template <bool kToPhases, typename Step>
void copy_with_step(const Phases& p, const PhasedPlanes& t, const float* from, float* to, Step dx) {
  walk(p, t, [&](std::size_t phase, std::size_t image, std::size_t count) {
    if constexpr (kToPhases) {
      const float* __restrict source = from + image;
      float* __restrict target = to + phase;
      for (std::size_t i = 0; i < count; ++i) target[i] = source[i * dx];
    } else {
      const float* __restrict source = from + phase;
      float* __restrict target = to + image;
      for (std::size_t i = 0; i < count; ++i) target[i * dx] = source[i];
    }
  });
}

template <bool kToPhases>
void copy_phases(const Phases& p, const PhasedPlanes& t, const float* from, float* to) {
  using std::integral_constant;
  switch (p.dx) {
    case 1:
      return copy_with_step<kToPhases>(p, t, from, to, integral_constant<std::size_t, 1>{});
    case 2:
      return copy_with_step<kToPhases>(p, t, from, to, integral_constant<std::size_t, 2>{});
    case 3:
      return copy_with_step<kToPhases>(p, t, from, to, integral_constant<std::size_t, 3>{});
    case 4:
      return copy_with_step<kToPhases>(p, t, from, to, integral_constant<std::size_t, 4>{});
    default:
      return copy_with_step<kToPhases>(p, t, from, to, p.dx);
  }
}

// The phase images of the image planes `t` of `image`; the phase pixels no image pixel lands on
// (phases of unequal size, outputs no real output maps to) are zeros.
void to_phases(const Phases& p, const PhasedPlanes& t, const float* image, float* phases,
               std::size_t phase_rows, std::size_t phase_cols) {
  if (!t.covers_phases(p, phase_rows, phase_cols)) {
    const std::size_t size = p.h.batch * t.planes * phase_rows * phase_cols;
    std::fill(phases, phases + size, 0.0f);
  }
  copy_phases<true>(p, t, image, phases);
}

// Input planes and output planes.
PhasedPlanes inputs(const Phases& p) {
  return {p.g.channels, p.g.in_y, p.g.in_x, 0, 0};
}
PhasedPlanes outputs(const Phases& p) {
  return {p.g.kernels, p.g.out_y(), p.g.out_x(), p.offset_y, p.offset_x};
}

}  // namespace

bool conv2d_dilated_covers(const ConvGeometry& g, runtime::SimdLevel level) {
  return covers(Phases(g), level);
}

bool conv2d_dilated_pays(const ConvGeometry& g) {
  const Phases p(g);
  const std::size_t phase_outputs = p.h.out_y() * p.h.out_x() * p.dy * p.dx;
  return p.g.in_y > 1 && p.g.kernel_y > 1 && p.g.kernel_x > 1 &&
         4 * phase_outputs <= 5 * p.g.out_y() * p.g.out_x() &&
         covers(p, runtime::best_simd_level());
}

bool conv2d_forward_dilated(const ConvGeometry& g, const float* input, const float* weights,
                            const float* bias, float* output, std::vector<float>& workspace,
                            runtime::SimdLevel level) {
  const Phases p(g);
  if (!covers(p, level)) return false;
  const FastForwardPlan plan = plan_forward(p.h, level, num_threads());
  const detail::CopiedBatch at = detail::copied_batch(workspace, plan.total, p.h);
  to_phases(p, inputs(p), input, at.input, p.h.in_y, p.h.in_x);
  detail::forward_on(level, plan, at.input, weights, bias, at.output, at.fast);
  copy_phases<false>(p, outputs(p), at.output, output);
  return true;
}

bool conv2d_backward_dilated(const ConvGeometry& g, const float* input, const float* weights,
                             const float* error, float* input_error, float* weight_gradient,
                             float* bias_gradient, std::vector<float>& workspace,
                             runtime::SimdLevel level) {
  const Phases p(g);
  if (!covers(p, level)) return false;
  const FastBackwardPlan plan = plan_backward(p.h, level, num_threads());
  const detail::CopiedBatch at = detail::copied_batch(workspace, plan.total, p.h);
  to_phases(p, inputs(p), input, at.input, p.h.in_y, p.h.in_x);
  // Phase outputs no real output maps to were dropped in the forward pass: their error is zero.
  to_phases(p, outputs(p), error, at.output, p.h.out_y(), p.h.out_x());
  float* const phase_input_error = input_error == nullptr ? nullptr : at.input_error;
  detail::backward_on(level, plan, at.input, weights, at.output, phase_input_error, weight_gradient,
                      bias_gradient, at.fast);
  if (input_error == nullptr) return true;
  copy_phases<false>(p, inputs(p), at.input_error, input_error);
  return true;
}

}  // namespace cnnkit::kernels
