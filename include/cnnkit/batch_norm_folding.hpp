// BatchNormFolding: inference with each BatchNorm folded into the Conv that feeds it.
//
// In the testing phase BatchNorm computes y = a_k x + b_k on channel k, with
// a_k = scale_k / sqrt(running_var_k + epsilon) and b_k = shift_k - a_k running_mean_k. When a
// Conv's output goes to that BatchNorm alone, the Conv with weights a_k W_k and bias
// a_k (bias_k - running_mean_k) + shift_k computes the same (within rounding) and the pass over
// the activation goes away. Graph::infer folds every such pair (Graph::set_batch_norm_folding
// turns it off: then each BatchNorm runs on its own, the reference). The folded weights are
// computed again only when a Conv's or a BatchNorm's values differ from those folded last
// (training, loading, set_weights), so repeated inference costs a comparison of the values.
#pragma once

#include <cstddef>
#include <vector>

#include "cnnkit/layer.hpp"

namespace cnnkit {

template <typename T>
class BatchNormFolding {
 public:
  // Whether `norm` is a BatchNorm that can fold into `producer`: a Conv with one kernel per
  // channel of the norm.
  static bool foldable(Layer<T>& producer, Layer<T>& norm);

  // Forgets every pair.
  void clear() { pairs_.clear(); }
  // Adds a pair (foldable(conv, norm)); `norm_node` is the norm's node index in its graph.
  void add(Layer<T>& conv, Layer<T>& norm, std::size_t norm_node);
  bool empty() const { return pairs_.empty(); }

  // Puts each pair's folded weights and bias into its Conv (folding again where values changed)
  // and marks its norm node in `skip` (sized to the nodes); a pair whose tensors do not have
  // their layers' shapes stays unfolded, so the layers report it. unfold() puts the Convs' own
  // values back; call it after every fold(), also when inference throws.
  void fold(std::vector<char>& skip);
  void unfold();

 private:
  struct Pair {
    Parameter<T>* weights;
    Parameter<T>* bias;
    const Parameter<T>* scale;
    const Parameter<T>* shift;
    const Tensor<T>* running_mean;
    const Tensor<T>* running_var;
    double epsilon;
    std::size_t norm_node;
    Tensor<T> folded_weights;
    Tensor<T> folded_bias;
    std::vector<T> folded_from;  // the six tensors' values at the last fold, one after another
    bool swapped = false;        // whether the Conv holds the folded values now
  };
  static bool shapes_fit(const Pair& pair);
  static bool unchanged(const Pair& pair);
  static void refold(Pair& pair);

  std::vector<Pair> pairs_;
};

extern template class BatchNormFolding<float>;
extern template class BatchNormFolding<double>;

}  // namespace cnnkit
