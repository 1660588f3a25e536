// The fixed-order sum of data-parallel training (docs/DISTRIBUTED.md, "Determinism").
//
// A global batch is cut into `groups` fixed groups of samples (group k holds samples
// [share(B, groups, k), share(B, groups, k + 1))); each group's gradient is one partial sum, a
// leaf of a binary tree over the groups: node [first, first + 2^level), aligned to its width,
// is the sum (left + right) of its two halves, a half with no samples in it (past the last group,
// or empty groups of a short batch) leaving the other half's value as it is. The root is the
// gradient of the batch. Rank r computes the groups [share(groups, P, r), share(groups, P,
// r + 1)) and reduces them into the largest aligned nodes that cover its range (subtrees); the
// ranks then exchange the subtrees slice by slice (a fixed-order reduce-scatter: rank q combines
// every rank's subtrees for its slice of the gradient up to the root) and gather the slices (an
// all-gather). Every addition is the same on any number of ranks, threads or MPI library, so the
// sum has the same bits as on one process.
#pragma once

#include <cstddef>
#include <span>
#include <vector>

#include "cnnkit/communicator.hpp"

namespace cnnkit {

// Leaves [first, last) of the tree.
struct TreeRange {
  std::size_t first = 0, last = 0;
  bool operator==(const TreeRange&) const = default;
};

// The largest aligned nodes covering [first, last), in order ([2, 7) -> [2, 4) [4, 6) [6, 7)).
std::vector<TreeRange> covering_subtrees(std::size_t first, std::size_t last);

// Reduces node values in place, up the tree: slot i (of `length` elements, `slots` of them in a
// row) holds the value of a node starting at leaf first + i when present[i], the slots of the
// leaves that node covers being absent. Afterwards slot 0 holds the value of [first, first +
// slots) and present[0] says whether it has any. `first` is a multiple of the smallest power of
// two >= slots (the slots are an aligned node, or start one), so relative positions suffice.
template <typename T>
void reduce_up_the_tree(T* values, std::size_t length, std::size_t slots,
                        std::vector<char>& present);

// Which groups a rank computes, and the subtrees it contributes.
struct GroupShare {
  std::size_t first_group = 0, last_group = 0;  // [first, last)
  std::vector<TreeRange> subtrees;              // covering_subtrees(first_group, last_group)
};
GroupShare group_share(std::size_t groups, std::size_t ranks, std::size_t rank);

// The sum over all ranks' groups, in the fixed tree, into `result` (`length` elements) on every
// rank. `leaves` holds this rank's groups (group_share) one after the other, `length` elements
// each, and is used as scratch; group_present says, for every group of the batch, whether it has
// samples (all ranks know: it follows from the batch size). Every rank passes the same
// group_present and length. Throws std::invalid_argument when there are fewer groups than ranks
// or the sizes do not match.
template <typename T>
void fixed_tree_sum(Communicator& communicator, std::size_t length, std::span<T> leaves,
                    const std::vector<char>& group_present, std::span<T> result);

// The buffers of fixed_tree_sum's exchange, kept from one call to the next by a caller that sums
// at every step: buffers this size, allocated anew each time, come from the system as fresh pages
// whenever the allocator has given them back (as glibc does under Open MPI), and faulting them in
// costs more than the exchange itself.
template <typename T>
struct TreeSumBuffers {
  std::vector<T> send;         // this rank's subtrees slice by slice, when it has several
  std::vector<T> received;     // every rank's subtrees for this rank's slice; the tree ends here
  std::vector<T> empty_slice;  // zeros, for a batch without samples
};

// The same sum with the caller's buffers.
template <typename T>
void fixed_tree_sum(Communicator& communicator, std::size_t length, std::span<T> leaves,
                    const std::vector<char>& group_present, std::span<T> result,
                    TreeSumBuffers<T>& buffers);

}  // namespace cnnkit
