// NeuralNetwork with layers, loss and data layer that Python keeps hold of: the network owns
// forwarding objects (SharedLayer in shared_layer.hpp, SharedLoss, SharedDataLayer) around the
// Python-held ones, so a layer's weights and gradients stay reachable from Python while the
// network trains it.
#include <pybind11/stl.h>

#include <algorithm>
#include <cnnkit/neural_network.hpp>
#include <cnnkit/random.hpp>
#include <numeric>

#include "arrays.hpp"
#include "bind.hpp"
#include "shared_layer.hpp"

namespace cnnkit::python {

namespace {

template <typename T>
class SharedLoss final : public Loss<T> {
 public:
  explicit SharedLoss(std::shared_ptr<Loss<T>> inner) : inner_(std::move(inner)) {}
  std::string type() const override { return inner_->type(); }
  T forward(const Tensor<T>& prediction, const Tensor<T>& label) override {
    return inner_->forward(prediction, label);
  }
  T forward(Tensor<T>&& prediction, const Tensor<T>& label) override {
    return inner_->forward(std::move(prediction), label);
  }
  Tensor<T> backward(const Tensor<T>& label) override { return inner_->backward(label); }

 private:
  std::shared_ptr<Loss<T>> inner_;
};

// Batches cut from numpy arrays the layer keeps a reference to: each batch is copied once, into
// the buffers the network hands back (no allocation once warm). Shuffled at the start of every
// epoch with the library's random engine when `shuffle`.
template <typename T>
class ArrayDataLayer final : public DataLayer<T> {
 public:
  ArrayDataLayer(const py::object& inputs, const py::object& labels, std::size_t batch_size,
                 std::optional<std::size_t> num_classes, bool shuffle)
      : inputs_(checked_array<T>(inputs, "ArrayDataLayer inputs", std::pair{2, 8})),
        batch_size_(batch_size),
        shuffle_(shuffle) {
    const std::size_t count = inputs_.shape(0);
    if (count == 0 || batch_size == 0) {
      throw py::value_error(
          "ArrayDataLayer: expected at least one sample and a batch size > 0, "
          "got " +
          std::to_string(count) + " samples, batch size " + std::to_string(batch_size));
    }
    sample_shape_ = shape_of(inputs_);
    sample_shape_.front() = 1;
    sample_size_ = element_count(sample_shape_);
    require_finite(inputs_.data(), count * sample_size_, sample_size_, "ArrayDataLayer inputs");
    labels_ =
        class_indices(labels, count, num_classes.value_or(kUnbounded), "ArrayDataLayer labels");
    num_classes_ =
        num_classes ? *num_classes : *std::max_element(labels_.begin(), labels_.end()) + 1;
    order_.resize(count);
  }

  Batch<T> next() override {
    if (position_ == 0 || position_ >= order_.size()) {
      std::iota(order_.begin(), order_.end(), std::size_t{0});
      if (shuffle_) std::shuffle(order_.begin(), order_.end(), random_engine());
      position_ = 0;
    }
    const std::size_t count = std::min(batch_size_, order_.size() - position_);
    Shape input_shape = sample_shape_;
    input_shape.front() = count;
    Batch<T> batch = buffers_.take(input_shape, {count, num_classes_});
    batch.label.fill(T(0));
    const T* const source = inputs_.data();
    for (std::size_t n = 0; n < count; ++n) {
      const std::size_t sample = order_[position_ + n];
      std::copy_n(source + sample * sample_size_, sample_size_,
                  batch.input.data() + n * sample_size_);
      batch.label[n * num_classes_ + labels_[sample]] = T(1);
    }
    position_ += count;
    return batch;
  }
  void recycle(Batch<T>&& spent) override { buffers_.give(std::move(spent)); }

  std::size_t num_classes() const { return num_classes_; }

 private:
  // Without num_classes, the classes are 0 .. the largest label.
  static constexpr std::size_t kUnbounded = std::size_t{1} << 31;

  py::array_t<T> inputs_;  // read without the GIL: only its data pointer is touched then
  std::size_t batch_size_;
  bool shuffle_;
  Shape sample_shape_;  // (1, ...)
  std::size_t sample_size_ = 0;
  std::size_t num_classes_ = 0;
  std::vector<std::size_t> labels_;
  std::vector<std::size_t> order_;
  std::size_t position_ = 0;
  BatchBuffers<T> buffers_;
};

template <typename T>
class SharedDataLayer final : public DataLayer<T> {
 public:
  explicit SharedDataLayer(std::shared_ptr<ArrayDataLayer<T>> inner) : inner_(std::move(inner)) {}
  Batch<T> next() override { return inner_->next(); }
  void recycle(Batch<T>&& spent) override { inner_->recycle(std::move(spent)); }

 private:
  std::shared_ptr<ArrayDataLayer<T>> inner_;
};

}  // namespace

template <typename T>
void bind_network(py::module_& m) {
  py::class_<ArrayDataLayer<T>, std::shared_ptr<ArrayDataLayer<T>>>(
      m, ("ArrayDataLayer" + suffix<T>()).c_str(),
      "Batches (input, one-hot label) from numpy arrays: inputs (count, ...) and integer class "
      "indices (count,). The arrays are read in place (kept alive), each batch copied once into a "
      "reused buffer; shuffled each epoch from the seeded engine.")
      .def(py::init<const py::object&, const py::object&, std::size_t, std::optional<std::size_t>,
                    bool>(),
           py::arg("inputs"), py::arg("labels"), py::arg("batch_size"),
           py::arg("num_classes") = py::none(), py::arg("shuffle") = true)
      .def_property_readonly("num_classes", &ArrayDataLayer<T>::num_classes,
                             "The width of the one-hot labels.");

  using Network = NeuralNetwork<T>;
  py::class_<Network>(m, ("NeuralNetwork" + suffix<T>()).c_str(),
                      "The lecture's network: layers between a data layer and a loss.")
      .def(py::init<const Optimizer<T>&, const Initializer<T>&, const Initializer<T>&>(),
           py::arg("optimizer"), py::arg("weights_initializer"), py::arg("bias_initializer"))
      .def(
          "append_layer",
          [](Network& self, const py::object& layer) {
            self.append_layer(share<T>(layer, "NeuralNetwork.append_layer"));
          },
          py::arg("layer"),
          "Appends a layer; a trainable one gets its own optimizer copies and is initialized. "
          "The layer stays usable from Python (its weights are the network's).")
      .def_property_readonly(
          "layers",
          [](const Network& self) {
            py::list layers;
            for (const auto& layer : self.layers()) {
              layers.append(py::cast(static_cast<const SharedLayer<T>&>(*layer).inner()));
            }
            return layers;
          },
          "The appended layers, in order.")
      .def(
          "set_data_layer",
          [](Network& self, std::shared_ptr<ArrayDataLayer<T>> data_layer) {
            self.set_data_layer(std::make_unique<SharedDataLayer<T>>(std::move(data_layer)));
          },
          py::arg("data_layer"), "Where forward() takes its batches from (an ArrayDataLayer).")
      .def(
          "set_loss_layer",
          [](Network& self, std::shared_ptr<Loss<T>> loss) {
            self.set_loss_layer(std::make_unique<SharedLoss<T>>(std::move(loss)));
          },
          py::arg("loss_layer"), "The loss that closes the network.")
      .def("forward", &Network::forward, py::call_guard<py::gil_scoped_release>(),
           "Next batch through every layer and the loss; returns that batch's loss.")
      .def("backward", &Network::backward, py::call_guard<py::gil_scoped_release>(),
           "The error from the loss back through every layer; each layer updates its weights.")
      .def("train", &Network::train, py::arg("iterations"),
           py::call_guard<py::gil_scoped_release>(),
           "forward + backward `iterations` times; the losses are in .loss.")
      .def_property_readonly(
          "loss", [](const Network& self) { return py::array_t<T>(py::cast(self.loss())); },
          "The loss of every train() iteration so far (a copy).")
      .def(
          "test",
          [](Network& self, const py::object& input) {
            return compute_on_copy<T>(input, "NeuralNetwork.test",
                                      [&](Tensor<T>&& x) { return self.test(x); });
          },
          py::arg("input"), "The layers alone, in the testing phase: the prediction for input.");
}

template void bind_network<float>(py::module_&);
template void bind_network<double>(py::module_&);

}  // namespace cnnkit::python
