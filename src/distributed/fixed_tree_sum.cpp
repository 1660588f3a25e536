// The fixed-order sum of fixed_tree_sum.hpp: subtrees on each rank, a reduce-scatter that
// finishes the tree slice by slice, an all-gather of the slices.
#include "cnnkit/fixed_tree_sum.hpp"

#include <algorithm>
#include <cstring>
#include <string>

#include "check.hpp"
#include "runtime/parallel.hpp"

namespace cnnkit {

namespace {

constexpr const char* kName = "fixed_tree_sum";

// The element range of the gradient that rank q finishes.
std::size_t slice_begin(std::size_t length, std::size_t ranks, std::size_t q) {
  return runtime::share(length, ranks, q);
}

bool any_present(const std::vector<char>& present, TreeRange range) {
  return std::any_of(present.begin() + static_cast<std::ptrdiff_t>(range.first),
                     present.begin() + static_cast<std::ptrdiff_t>(range.last),
                     [](char p) { return p != 0; });
}

// The tree over nodes held as pointers (reduce_up_the_tree's slots, or the slices received in the
// exchange): left + right into left, level by level; a node with no value of its own takes its
// right half's pointer instead of a copy.
template <typename T>
void finish_tree(std::vector<T*>& node, std::size_t length, std::vector<char>& present) {
  for (std::size_t half = 1; half < node.size(); half *= 2) {
    for (std::size_t left = 0; left + half < node.size(); left += 2 * half) {
      const std::size_t right = left + half;
      if (!present[right]) continue;
      if (present[left]) {
        T* const into = node[left];
        const T* const from = node[right];
        for (std::size_t i = 0; i < length; ++i) into[i] += from[i];
      } else {
        node[left] = node[right];
        present[left] = 1;
      }
    }
  }
}

}  // namespace

std::vector<TreeRange> covering_subtrees(std::size_t first, std::size_t last) {
  std::vector<TreeRange> subtrees;
  while (first < last) {
    std::size_t width = 1;
    // Grow while the doubled node stays aligned at `first` and inside the range.
    while ((first % (2 * width)) == 0 && first + 2 * width <= last) width *= 2;
    subtrees.push_back({first, first + width});
    first += width;
  }
  return subtrees;
}

template <typename T>
void reduce_up_the_tree(T* values, std::size_t length, std::size_t slots,
                        std::vector<char>& present) {
  if (slots == 0) return;
  std::vector<T*> node(slots);
  for (std::size_t i = 0; i < slots; ++i) node[i] = values + i * length;
  finish_tree(node, length, present);
  // A first slot without a value of its own took a later slot's sum: it moves to the first.
  if (present[0] && node[0] != values) std::memcpy(values, node[0], length * sizeof(T));
}

GroupShare group_share(std::size_t groups, std::size_t ranks, std::size_t rank) {
  GroupShare share;
  share.first_group = runtime::share(groups, ranks, rank);
  share.last_group = runtime::share(groups, ranks, rank + 1);
  share.subtrees = covering_subtrees(share.first_group, share.last_group);
  return share;
}

template <typename T>
void fixed_tree_sum(Communicator& communicator, std::size_t length, std::span<T> leaves,
                    const std::vector<char>& group_present, std::span<T> result) {
  TreeSumBuffers<T> buffers;
  fixed_tree_sum(communicator, length, leaves, group_present, result, buffers);
}

template <typename T>
void fixed_tree_sum(Communicator& communicator, std::size_t length, std::span<T> leaves,
                    const std::vector<char>& group_present, std::span<T> result,
                    TreeSumBuffers<T>& buffers) {
  const std::size_t groups = group_present.size();
  const std::size_t ranks = communicator.size();
  const std::size_t rank = communicator.rank();
  detail::require(groups >= ranks, kName, "at least one group of samples per rank",
                  std::to_string(groups) + " groups on " + std::to_string(ranks) + " ranks");
  const GroupShare mine = group_share(groups, ranks, rank);
  const std::size_t local = mine.last_group - mine.first_group;
  detail::require(
      leaves.size() == local * length && result.size() == length, kName,
      std::to_string(local) + " leaves and a result of " + std::to_string(length) + " elements",
      std::to_string(leaves.size()) + " leaf and " + std::to_string(result.size()) +
          " result elements");

  // This rank's subtrees, each reduced into its first slot.
  std::vector<char> present(group_present.begin() + static_cast<std::ptrdiff_t>(mine.first_group),
                            group_present.begin() + static_cast<std::ptrdiff_t>(mine.last_group));
  std::vector<char> subtree_present(present.size(), 0);
  for (const TreeRange& subtree : mine.subtrees) {
    const std::size_t slot = subtree.first - mine.first_group;
    std::vector<char> part(
        present.begin() + static_cast<std::ptrdiff_t>(slot),
        present.begin() + static_cast<std::ptrdiff_t>(slot + subtree.last - subtree.first));
    reduce_up_the_tree(leaves.data() + slot * length, length, part.size(), part);
    subtree_present[slot] = part[0];
  }
  if (ranks == 1) {
    // The subtrees of [0, groups) up to the root, where the exchange would have taken them.
    reduce_up_the_tree(leaves.data(), length, groups, subtree_present);
    if (subtree_present[0]) {
      std::memcpy(result.data(), leaves.data(), length * sizeof(T));
    } else {
      std::fill(result.begin(), result.end(), T(0));
    }
    return;
  }

  // Reduce-scatter: every subtree's slice q to rank q, which places each rank's subtrees at their
  // first leaf and finishes the tree for its slice.
  std::vector<std::size_t> send_counts(ranks), receive_counts(ranks);
  for (std::size_t q = 0; q < ranks; ++q) {
    const std::size_t slice_length =
        slice_begin(length, ranks, q + 1) - slice_begin(length, ranks, q);
    send_counts[q] = mine.subtrees.size() * slice_length * sizeof(T);
  }
  // One subtree (P and G powers of two) is laid out slice after slice already: sent as it is.
  const T* send = leaves.data() + (mine.subtrees.front().first - mine.first_group) * length;
  if (mine.subtrees.size() > 1) {
    std::vector<T>& gathered = buffers.send;
    gathered.clear();
    gathered.reserve(mine.subtrees.size() * length);
    for (std::size_t q = 0; q < ranks; ++q) {
      const std::size_t begin = slice_begin(length, ranks, q),
                        end = slice_begin(length, ranks, q + 1);
      for (const TreeRange& subtree : mine.subtrees) {
        const T* value = leaves.data() + (subtree.first - mine.first_group) * length;
        gathered.insert(gathered.end(), value + begin, value + end);
      }
    }
    send = gathered.data();
  }
  const std::size_t begin = slice_begin(length, ranks, rank);
  const std::size_t slice = slice_begin(length, ranks, rank + 1) - begin;
  std::size_t received_subtrees = 0;
  std::vector<GroupShare> shares(ranks);
  for (std::size_t p = 0; p < ranks; ++p) {
    shares[p] = group_share(groups, ranks, p);
    receive_counts[p] = shares[p].subtrees.size() * slice * sizeof(T);
    received_subtrees += shares[p].subtrees.size();
  }
  std::vector<T>& received = buffers.received;
  received.resize(received_subtrees * slice);
  communicator.exchange(reinterpret_cast<const std::byte*>(send), send_counts,
                        reinterpret_cast<std::byte*>(received.data()), receive_counts);

  // Every received subtree's slice stays where it arrived, at its first leaf's node of the tree;
  // the tree is finished over pointers to them, each sum written into the left node's slice.
  std::vector<T*> node(groups, nullptr);
  std::vector<char> node_present(groups, 0);
  T* next = received.data();
  for (const GroupShare& share : shares) {
    for (const TreeRange& subtree : share.subtrees) {
      node[subtree.first] = next;
      node_present[subtree.first] = any_present(group_present, subtree) ? 1 : 0;
      next += slice;
    }
  }
  finish_tree(node, slice, node_present);
  const T* finished = node[0];
  if (!node_present[0]) {
    buffers.empty_slice.assign(slice, T(0));
    finished = buffers.empty_slice.data();
  }

  // All-gather: every rank's finished slice into the result.
  std::vector<std::size_t> slice_bytes(ranks);
  for (std::size_t q = 0; q < ranks; ++q) {
    slice_bytes[q] =
        (slice_begin(length, ranks, q + 1) - slice_begin(length, ranks, q)) * sizeof(T);
  }
  communicator.all_gather(reinterpret_cast<const std::byte*>(finished),
                          reinterpret_cast<std::byte*>(result.data()), slice_bytes);
}

template void reduce_up_the_tree<float>(float*, std::size_t, std::size_t, std::vector<char>&);
template void reduce_up_the_tree<double>(double*, std::size_t, std::size_t, std::vector<char>&);
template void fixed_tree_sum<float>(Communicator&, std::size_t, std::span<float>,
                                    const std::vector<char>&, std::span<float>);
template void fixed_tree_sum<double>(Communicator&, std::size_t, std::span<double>,
                                     const std::vector<char>&, std::span<double>);
template void fixed_tree_sum<float>(Communicator&, std::size_t, std::span<float>,
                                    const std::vector<char>&, std::span<float>,
                                    TreeSumBuffers<float>&);
template void fixed_tree_sum<double>(Communicator&, std::size_t, std::span<double>,
                                     const std::vector<char>&, std::span<double>,
                                     TreeSumBuffers<double>&);

}  // namespace cnnkit
