#include "cnnkit/batch_norm_folding.hpp"

#include <array>
#include <cmath>
#include <cstring>
#include <utility>

#include "cnnkit/layers/batch_norm.hpp"
#include "cnnkit/layers/conv.hpp"

namespace cnnkit {

namespace {

// The tensors a fold reads, in the order of Pair::folded_from.
template <typename T, typename Pair>
std::array<const Tensor<T>*, 6> sources(const Pair& pair) {
  return {&pair.weights->value, &pair.bias->value, &pair.scale->value,
          &pair.shift->value,   pair.running_mean, pair.running_var};
}

}  // namespace

template <typename T>
bool BatchNormFolding<T>::foldable(Layer<T>& producer, Layer<T>& norm) {
  const auto* conv = dynamic_cast<Conv<T>*>(&producer);
  const auto* batch_norm = dynamic_cast<BatchNorm<T>*>(&norm);
  return conv != nullptr && batch_norm != nullptr && conv->num_kernels() == batch_norm->channels();
}

template <typename T>
void BatchNormFolding<T>::add(Layer<T>& conv, Layer<T>& norm, std::size_t norm_node) {
  auto& batch_norm = dynamic_cast<BatchNorm<T>&>(norm);
  const std::vector<Parameter<T>*> conv_parameters = conv.parameters();        // weights, bias
  const std::vector<Parameter<T>*> norm_parameters = batch_norm.parameters();  // scale, shift
  Pair pair{.weights = conv_parameters[0],
            .bias = conv_parameters[1],
            .scale = norm_parameters[0],
            .shift = norm_parameters[1],
            .running_mean = &batch_norm.running_mean(),
            .running_var = &batch_norm.running_var(),
            .epsilon = batch_norm.epsilon(),
            .norm_node = norm_node,
            .folded_weights = {},
            .folded_bias = {},
            .folded_from = {},
            .swapped = false};
  pairs_.push_back(std::move(pair));
}

template <typename T>
bool BatchNormFolding<T>::shapes_fit(const Pair& pair) {
  const Shape& weights = pair.weights->value.shape();
  if (weights.empty()) return false;
  const Shape channels{weights[0]};
  return pair.bias->value.shape() == channels && pair.scale->value.shape() == channels &&
         pair.shift->value.shape() == channels && pair.running_mean->shape() == channels &&
         pair.running_var->shape() == channels;
}

template <typename T>
bool BatchNormFolding<T>::unchanged(const Pair& pair) {
  std::size_t at = 0;
  for (const Tensor<T>* source : sources<T>(pair)) {
    if (at + source->size() > pair.folded_from.size() ||
        std::memcmp(source->data(), pair.folded_from.data() + at, source->size() * sizeof(T)) !=
            0) {
      return false;
    }
    at += source->size();
  }
  return at == pair.folded_from.size();
}

template <typename T>
void BatchNormFolding<T>::refold(Pair& pair) {
  pair.folded_from.clear();
  for (const Tensor<T>* source : sources<T>(pair)) {
    pair.folded_from.insert(pair.folded_from.end(), source->begin(), source->end());
  }
  const Tensor<T>& weights = pair.weights->value;
  const std::size_t kernels = weights.dim(0);
  const std::size_t per_kernel = weights.size() / kernels;
  pair.folded_weights = Tensor<T>::uninitialized(weights.shape(), std::move(pair.folded_weights));
  pair.folded_bias = Tensor<T>::uninitialized({kernels}, std::move(pair.folded_bias));
  for (std::size_t k = 0; k < kernels; ++k) {
    // As BatchNorm's testing phase: a = scale / sqrt(var + epsilon), in double.
    const double a = static_cast<double>(pair.scale->value[k]) /
                     std::sqrt(static_cast<double>((*pair.running_var)[k]) + pair.epsilon);
    for (std::size_t i = k * per_kernel; i < (k + 1) * per_kernel; ++i) {
      pair.folded_weights[i] = static_cast<T>(a * static_cast<double>(weights[i]));
    }
    pair.folded_bias[k] = static_cast<T>(a * (static_cast<double>(pair.bias->value[k]) -
                                              static_cast<double>((*pair.running_mean)[k])) +
                                         static_cast<double>(pair.shift->value[k]));
  }
}

template <typename T>
void BatchNormFolding<T>::fold(std::vector<char>& skip) {
  for (Pair& pair : pairs_) {
    if (pair.swapped || !shapes_fit(pair)) continue;
    if (!unchanged(pair)) refold(pair);
    std::swap(pair.weights->value, pair.folded_weights);
    std::swap(pair.bias->value, pair.folded_bias);
    pair.swapped = true;
    skip[pair.norm_node] = 1;
  }
}

template <typename T>
void BatchNormFolding<T>::unfold() {
  for (Pair& pair : pairs_) {
    if (!pair.swapped) continue;
    std::swap(pair.weights->value, pair.folded_weights);
    std::swap(pair.bias->value, pair.folded_bias);
    pair.swapped = false;
  }
}

template class BatchNormFolding<float>;
template class BatchNormFolding<double>;

}  // namespace cnnkit
