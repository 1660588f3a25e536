// for_chunks: a loop over [0, n) in contiguous pieces on the thread team, for the memory-bound
// kernels (elementwise.cpp, batch_norm_kernels.cpp).
#pragma once

#include <cstddef>

#include "runtime/parallel.hpp"

namespace cnnkit::kernels {

// body(begin, end) over [0, n): on the threads when `enough_work`, in kPiecesPerThread pieces
// per thread, thread t's own pieces first, which make up its contiguous part
// [share(n, threads, t), share(n, threads, t + 1)), then what is left of the others'
// (runtime::parallel_for): a thread that loses its core for a while leaves pieces to the others. A
// batch splits there at the same samples as the convolutions' AffineShare and the pooling's static
// loop, so each core works on what it wrote itself, still in its own cache (pieces of a fixed size
// handed out in order would cut the batch at other places, inside samples).
template <typename Body>
void for_chunks(std::size_t n, bool enough_work, const Body& body) {
  constexpr std::size_t kPiecesPerThread = 4;
  const bool team = runtime::worth_a_team(enough_work);
  const std::size_t pieces = team ? kPiecesPerThread * runtime::team_size() : 1;
  runtime::parallel_for(pieces, team, [&](std::size_t piece) {
    body(runtime::share(n, pieces, piece), runtime::share(n, pieces, piece + 1));
  });
}

}  // namespace cnnkit::kernels
