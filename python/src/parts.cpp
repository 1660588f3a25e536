// Initializers, optimizers, losses and gradient_check: the lecture's objects around the layers.
#include <pybind11/stl.h>

#include <cnnkit/gradient_check.hpp>
#include <cnnkit/gradient_clipping.hpp>
#include <cnnkit/initializers.hpp>
#include <cnnkit/loss.hpp>
#include <cnnkit/optimizers.hpp>
#include <cnnkit/schedule.hpp>

#include "arrays.hpp"
#include "bind.hpp"

namespace cnnkit::python {

namespace {

template <typename T>
void bind_initializers(py::module_& m) {
  using Base = Initializer<T>;
  py::class_<Base, std::shared_ptr<Base>>(m, ("Initializer" + suffix<T>()).c_str(),
                                          "Gives a layer its initial weights or bias.")
      .def(
          "initialize",
          [](Base& self, const py::object& shape, std::size_t fan_in, std::size_t fan_out) {
            return to_array(
                self.initialize(to_shape(shape, "Initializer.initialize shape"), fan_in, fan_out));
          },
          py::arg("shape"), py::arg("fan_in"), py::arg("fan_out"),
          "A new array of this shape (random ones draw from the engine set_seed seeds).");
  py::class_<Constant<T>, Base, std::shared_ptr<Constant<T>>>(m, ("Constant" + suffix<T>()).c_str(),
                                                              "Every value = value (default 0.1).")
      .def(py::init<T>(), py::arg("value") = T(0.1))
      .def_property_readonly("value", &Constant<T>::value, "The value every element gets.");
  py::class_<UniformRandom<T>, Base, std::shared_ptr<UniformRandom<T>>>(
      m, ("UniformRandom" + suffix<T>()).c_str(), "Uniform in [0, 1).")
      .def(py::init<>());
  py::class_<Xavier<T>, Base, std::shared_ptr<Xavier<T>>>(
      m, ("Xavier" + suffix<T>()).c_str(), "Normal, sigma = sqrt(2 / (fan_out + fan_in)).")
      .def(py::init<>());
  py::class_<He<T>, Base, std::shared_ptr<He<T>>>(m, ("He" + suffix<T>()).c_str(),
                                                  "Normal, sigma = sqrt(2 / fan_in).")
      .def(py::init<>());
}

template <typename T>
void bind_optimizers(py::module_& m) {
  using Base = Optimizer<T>;
  py::class_<Base, std::shared_ptr<Base>>(m, ("Optimizer" + suffix<T>()).c_str(),
                                          "Updates weights from their gradient.")
      .def(
          "calculate_update",
          [](Base& self, const py::object& weights, const py::object& gradient) {
            const Tensor<T> w = to_tensor<T>(weights, self.name() + ".calculate_update weights");
            const Tensor<T> g = to_tensor<T>(gradient, self.name() + ".calculate_update gradient");
            if (w.shape() != g.shape()) {
              throw py::value_error(
                  self.name() + ".calculate_update: expected a gradient of the weights' shape " +
                  to_string(w.shape()) + ", got " + to_string(g.shape()));
            }
            Tensor<T> updated;
            {
              py::gil_scoped_release release;
              updated = self.calculate_update(w, g);
            }
            return to_array(std::move(updated));
          },
          py::arg("weights"), py::arg("gradient"),
          "The updated weights (a new array; the arguments are left alone). Stateful optimizers "
          "advance their state.")
      .def_property_readonly("name", &Base::name, "The optimizer's name: 'Sgd', 'Adam', ...")
      .def_property("learning_rate_scale", &Base::learning_rate_scale,
                    &Base::set_learning_rate_scale, "Factor on the learning rate (a schedule's).");
  py::class_<Sgd<T>, Base, std::shared_ptr<Sgd<T>>>(m, ("Sgd" + suffix<T>()).c_str(),
                                                    "w = w - eta g")
      .def(py::init<T>(), py::arg("learning_rate"))
      .def_property_readonly("learning_rate", &Sgd<T>::learning_rate, "eta, the step size.");
  py::class_<SgdWithMomentum<T>, Base, std::shared_ptr<SgdWithMomentum<T>>>(
      m, ("SgdWithMomentum" + suffix<T>()).c_str(), "v = mu v - eta g; w = w + v")
      .def(py::init<T, T>(), py::arg("learning_rate"), py::arg("momentum"))
      .def_property_readonly("learning_rate", &SgdWithMomentum<T>::learning_rate,
                             "eta, the step size.")
      .def_property_readonly("momentum", &SgdWithMomentum<T>::momentum,
                             "mu, the share of the last step kept.");
  py::class_<Adam<T>, Base, std::shared_ptr<Adam<T>>>(
      m, ("Adam" + suffix<T>()).c_str(), "Adam with bias correction (the lecture's ADAM).")
      .def(py::init<T, T, T, T>(), py::arg("learning_rate"), py::arg("mu"), py::arg("rho"),
           py::arg("epsilon") = T(1e-8))
      .def_property_readonly("learning_rate", &Adam<T>::learning_rate, "eta, the step size.")
      .def_property_readonly("mu", &Adam<T>::mu, "The decay of the gradient's running mean.")
      .def_property_readonly("rho", &Adam<T>::rho,
                             "The decay of the squared gradient's running mean.")
      .def_property_readonly("epsilon", &Adam<T>::epsilon,
                             "Added to the root, against division by 0.")
      .def_property_readonly("step", &Adam<T>::step,
                             "Updates done so far (the bias corrections' exponent).");
  py::class_<AdamW<T>, Adam<T>, std::shared_ptr<AdamW<T>>>(
      m, ("AdamW" + suffix<T>()).c_str(),
      "PyTorch's AdamW: w = w (1 - eta wd) (decoupled weight decay), then Adam's step.")
      .def(py::init<T, T, T, T, T>(), py::arg("learning_rate"), py::arg("mu") = T(0.9),
           py::arg("rho") = T(0.999), py::arg("epsilon") = T(1e-8),
           py::arg("weight_decay") = T(0.01))
      .def_property_readonly("weight_decay", &AdamW<T>::weight_decay,
                             "wd: the weights shrink by the factor 1 - eta wd every step.");
}

// A built-in loss taking reduction='sum' or 'mean' (ValueError for anything else).
template <template <typename> class LossClass, typename T>
void bind_loss(py::module_& m, const std::string& name, const char* doc) {
  py::class_<LossClass<T>, Loss<T>, std::shared_ptr<LossClass<T>>>(m, (name + suffix<T>()).c_str(),
                                                                   doc)
      .def(py::init([name](const std::string& reduction) {
             return std::make_shared<LossClass<T>>(reduction_from_string(reduction, name));
           }),
           py::arg("reduction") = "sum");
}

template <typename T>
void bind_losses(py::module_& m) {
  using Base = Loss<T>;
  py::class_<Base, std::shared_ptr<Base>>(m, ("Loss" + suffix<T>()).c_str(),
                                          "Closes a network: a number from prediction and label.")
      .def(
          "forward",
          [](Base& self, const py::object& prediction, const py::object& label) {
            Tensor<T> p = to_tensor<T>(prediction, self.type() + ".forward prediction");
            const Tensor<T> l = to_tensor<T>(label, self.type() + ".forward label");
            if (p.shape() != l.shape()) {
              throw py::value_error(self.type() +
                                    ".forward: expected a label of the prediction's "
                                    "shape " +
                                    to_string(p.shape()) + ", got " + to_string(l.shape()));
            }
            py::gil_scoped_release release;
            return self.forward(std::move(p), l);
          },
          py::arg("prediction"), py::arg("label"), "The loss of a batch (a float).")
      .def(
          "backward",
          [](Base& self, const py::object& label) {
            return compute_on_copy<T>(label, self.type() + ".backward label",
                                      [&](Tensor<T>&& l) { return self.backward(l); });
          },
          py::arg("label"), "dLoss/dPrediction for the prediction forward() saw.")
      .def_property_readonly(
          "type", &Base::type,
          "The loss's name: 'CrossEntropyLoss', 'L2Loss', 'SoftmaxCrossEntropy'.")
      .def_property_readonly(
          "reduction", [](const Base& self) { return to_string(self.reduction()); },
          "'sum' (the lecture's) or 'mean' (divided by the batch size, PyTorch's default).")
      .def(
          "prediction_from",
          [](Base& self, const py::object& output) {
            return compute_on_copy<T>(output, self.type() + ".prediction_from", [&](Tensor<T>&& o) {
              return self.prediction_from(std::move(o));
            });
          },
          py::arg("output"),
          "What a prediction shows of the network's output: the output itself, or the softmax of "
          "the logits for SoftmaxCrossEntropy.");
  bind_loss<CrossEntropyLoss, T>(
      m, "CrossEntropyLoss",
      "Sum (or mean) over the batch of -log(y_k + eps) for one-hot labels (batch, categories).");
  bind_loss<L2Loss, T>(m, "L2Loss", "Sum (or mean over the batch) of (prediction - label)^2.");
  bind_loss<SoftmaxCrossEntropyLoss, T>(
      m, "SoftmaxCrossEntropyLoss",
      "Softmax and cross-entropy in one from the logits (PyTorch's CrossEntropyLoss): "
      "-log_softmax(x)_k summed (or averaged) over the batch; no eps floor on the gradient.");
}

}  // namespace

py::dict errors_dict(const GradientCheckResult& result) {
  py::dict errors;
  for (const GradientCheckEntry& entry : result.entries) {
    errors[py::str(entry.what)] = entry.max_relative_error;
  }
  return errors;
}

template <typename T>
void bind_parts(py::module_& m) {
  bind_initializers<T>(m);
  bind_optimizers<T>(m);
  bind_losses<T>(m);
  m.def(("gradient_check" + suffix<T>()).c_str(),
        [](const std::vector<std::shared_ptr<Layer<T>>>& layers, Loss<T>& loss,
           const py::object& input, const py::object& label, T step, T absolute_floor) {
          const Tensor<T> x = to_tensor<T>(input, "gradient_check input");
          const Tensor<T> y = to_tensor<T>(label, "gradient_check label");
          std::vector<Layer<T>*> chain;
          for (const auto& layer : layers) chain.push_back(layer.get());
          GradientCheckResult result;
          {
            py::gil_scoped_release release;
            result = gradient_check(chain, loss, x, y, step, absolute_floor);
          }
          return errors_dict(result);
        },
        py::arg("layers"), py::arg("loss"), py::arg("input"), py::arg("label"),
        py::arg("step") = T(1e-5), py::arg("absolute_floor") = T(1e-9));
}

template void bind_parts<float>(py::module_&);
template void bind_parts<double>(py::module_&);

}  // namespace cnnkit::python
