// cnnkit_reduction_bench: the time of the fixed-order gradient sum (fixed_tree_sum.hpp) for a
// gradient of N floats, on the ranks mpirun started (one process: the local tree alone).
//   mpirun -np 2 build/bench/cnnkit_reduction_bench [floats (107788: W1)] [groups (8)] [repeats]
// Prints, on rank 0, the bytes each rank sends per sum and the median time per sum.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "cnnkit/communicator.hpp"
#include "cnnkit/fixed_tree_sum.hpp"

int main(int argc, char** argv) {
  const std::size_t length = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 107'788;
  const std::size_t groups = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 8;
  const std::size_t repeats = argc > 3 ? std::strtoull(argv[3], nullptr, 10) : 500;
  const auto communicator = cnnkit::world_communicator();
  const std::size_t ranks = communicator->size(), rank = communicator->rank();
  const cnnkit::GroupShare mine = cnnkit::group_share(groups, ranks, rank);
  const std::size_t local = mine.last_group - mine.first_group;
  std::vector<float> leaves(local * length), fresh(local * length), result(length);
  for (std::size_t i = 0; i < fresh.size(); ++i) fresh[i] = static_cast<float>(i % 97) * 1e-3f;
  const std::vector<char> present(groups, 1);
  cnnkit::TreeSumBuffers<float> buffers;  // as GroupedStep keeps them from step to step
  std::vector<double> seconds;
  for (std::size_t r = 0; r < repeats + 10; ++r) {
    std::copy(fresh.begin(), fresh.end(), leaves.begin());  // the sum works in place
    communicator->barrier();
    const auto start = std::chrono::steady_clock::now();
    cnnkit::fixed_tree_sum<float>(*communicator, length, leaves, present, result, buffers);
    const double elapsed =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (r >= 10) seconds.push_back(elapsed);  // the first ones set up MPI's connections
  }
  std::sort(seconds.begin(), seconds.end());
  // Sent per rank: its subtrees' slices for the other ranks, then its slice to each other rank.
  const std::size_t sent =
      (mine.subtrees.size() * (length - length / ranks) + (ranks - 1) * (length / ranks)) *
      sizeof(float);
  if (rank == 0) {
    std::printf(
        "%zu ranks (%s), %zu floats (%zu bytes), %zu groups: ~%zu bytes sent per rank "
        "per sum, median %.1f us, 90th percentile %.1f us\n",
        ranks, communicator->name().c_str(), length, length * sizeof(float), groups, sent,
        seconds[seconds.size() / 2] * 1e6, seconds[seconds.size() * 9 / 10] * 1e6);
  }
  return 0;
}
