// Graph: the engine from Python, built node by node (add(name, layer, inputs)) from layers Python
// keeps hold of, for residual and branching networks. The merge layers Add and Concat are bound
// here too: only a graph feeds them several inputs.
#include <pybind11/stl.h>

#include <cnnkit/gradient_clipping.hpp>
#include <cnnkit/graph.hpp>
#include <cnnkit/layers/add.hpp>
#include <cnnkit/layers/concat.hpp>
#include <cnnkit/schedule.hpp>
#include <cnnkit/training_step.hpp>
#include <cnnkit/weight_decay.hpp>

#include "arrays.hpp"
#include "bind.hpp"
#include "shared_layer.hpp"

namespace cnnkit::python {

namespace {

// The graph and the Python objects of its layers, in the order they were added. The objects are
// declared first so that they outlive the graph, which borrows the merge layers among them.
template <typename T>
struct PyGraph {
  std::vector<py::object> layers;
  Graph<T> graph;

  // Adds the node: a merge layer (no parameters, several inputs) is borrowed as it is, so the
  // graph sees it as one; every other layer through a SharedLayer, which keeps its own settings
  // for when Python uses it alone.
  void add(std::string name, const py::object& layer, std::vector<std::string> inputs) {
    const std::string what = "Graph.add '" + name + "'";
    if (py::isinstance<Layer<T>>(layer) && dynamic_cast<MergeLayer<T>*>(&layer.cast<Layer<T>&>())) {
      graph.add(std::move(name), layer.cast<Layer<T>&>(), std::move(inputs));
    } else {
      graph.add(std::move(name), share<T>(layer, what), std::move(inputs));
    }
    layers.push_back(layer);
  }
};

}  // namespace

template <typename T>
void bind_graph(py::module_& m) {
  py::class_<Add<T>, Layer<T>, std::shared_ptr<Add<T>>>(
      m, ("Add" + suffix<T>()).c_str(),
      "The elementwise sum of a graph node's inputs, all of one shape (a residual connection); "
      "backward hands every input the error unchanged.")
      .def(py::init<>());
  py::class_<Concat<T>, Layer<T>, std::shared_ptr<Concat<T>>>(
      m, ("Concat" + suffix<T>()).c_str(),
      "A graph node's inputs joined along the channel axis (axis 1); every other axis agrees.")
      .def(py::init<>());

  using Self = PyGraph<T>;
  py::class_<Self>(m, ("Graph" + suffix<T>()).c_str(),
                   "The engine: a directed acyclic graph of named layers.")
      .def(py::init<>())
      .def(
          "add",
          [](Self& self, std::string name, const py::object& layer,
             std::vector<std::string> inputs) -> Self& {
            self.add(std::move(name), layer, std::move(inputs));
            return self;
          },
          py::arg("name"), py::arg("layer"), py::arg("inputs"), py::return_value_policy::reference,
          "Adds a node `name` computing `layer` on the nodes named in `inputs` ('input' is the "
          "graph's input; several only for Add and Concat). Returns the graph. Names are checked "
          "when the graph first runs (ValueError naming the node).")
      .def(
          "append",
          [](Self& self, const py::object& layer) -> Self& {
            self.add("layer" + std::to_string(self.graph.size()), layer,
                     {self.graph.empty() ? std::string(Graph<T>::kInput)
                                         : self.graph.name(self.graph.size() - 1)});
            return self;
          },
          py::arg("layer"), py::return_value_policy::reference,
          "Adds node 'layer{i}' reading the node added last (or the input). Returns the graph.")
      .def_property_readonly(
          "layers", [](const Self& self) { return py::list(py::cast(self.layers)); },
          "The layers in the order they were added (the Python objects).")
      .def_property_readonly(
          "names",
          [](const Self& self) {
            std::vector<std::string> names;
            for (std::size_t i = 0; i < self.graph.size(); ++i) names.push_back(self.graph.name(i));
            return names;
          },
          "The node names in the order they were added.")
      .def("__len__", [](const Self& self) { return self.graph.size(); })
      .def(
          "initialize",
          [](Self& self, Initializer<T>& weights_init, Initializer<T>& bias_init) {
            for (Layer<T>* layer : self.graph.layers()) {
              initialize_in_place(*layer, weights_init, bias_init);
            }
          },
          py::arg("weights_initializer"), py::arg("bias_initializer"),
          "Initializes every layer in the order added (as NeuralNetwork.append_layer does).")
      .def(
          "set_optimizer",
          [](Self& self, const Optimizer<T>& optimizer) {
            for (Layer<T>* layer : self.graph.layers()) layer->set_optimizer(optimizer);
          },
          py::arg("optimizer"), "Gives every parameter of every layer its own optimizer copy.")
      .def(
          "output_shape",
          [](Self& self, const py::object& input_shape) {
            const Shape shape =
                self.graph.output_shape(to_shape(input_shape, "Graph.output_shape"));
            return py::tuple(py::cast(std::vector<std::size_t>(shape.begin(), shape.end())));
          },
          py::arg("input_shape"), "The output shape for an input of this shape (batch included).")
      .def(
          "forward",
          [](Self& self, const py::object& input) {
            return compute_on_copy<T>(input, "Graph.forward", [&](Tensor<T>&& x) {
              return self.graph.forward(std::move(x));
            });
          },
          py::arg("input"),
          "The training phase: the prediction for a batch; every layer keeps what backward() "
          "needs.")
      .def(
          "backward",
          [](Self& self, const py::object& error_tensor) {
            return compute_on_copy<T>(error_tensor, "Graph.backward", [&](Tensor<T>&& e) {
              return self.graph.backward(std::move(e));
            });
          },
          py::arg("error_tensor"),
          "dLoss/dOutput back through every node: gradients only (update() runs the optimizers). "
          "Returns the error for the input (meaningful when input_error_needed).")
      .def(
          "update", [](Self& self) { self.graph.update(); },
          py::call_guard<py::gil_scoped_release>(),
          "The update phase: every unfrozen parameter's optimizer, once per step.")
      .def(
          "add_gradient_clipping",
          [](Self& self, double max_norm) {
            self.graph.update_hooks().push_back(gradient_clipping_hook<T>(max_norm));
          },
          py::arg("max_norm"),
          "From now on update() first scales all gradients together to a global norm of at most "
          "max_norm (PyTorch's clip_grad_norm_). ValueError unless max_norm > 0.")
      .def(
          "add_weight_decay",
          [](Self& self, T weight_decay, bool decay_bias_and_norm) {
            self.graph.update_hooks().push_back(
                l2_penalty_hook<T>(weight_decay, decay_bias_and_norm));
          },
          py::arg("weight_decay"), py::arg("decay_bias_and_norm") = true,
          "From now on update() adds weight_decay * w to every gradient (the L2 penalty; "
          "decay_bias_and_norm=False leaves biases and BatchNorm's scale and shift out), after "
          "any clipping added before. For decoupled decay use the AdamW optimizer.")
      .def(
          "set_learning_rate_scale",
          [](Self& self, double scale) {
            self.graph.build();  // the parameters are the built graph's
            set_learning_rate_scale(self.graph, scale);
          },
          py::arg("scale"),
          "Multiplies every optimizer's learning rate by `scale` (a schedule's factor, "
          "cnnkit.Schedule.scale) from the next update() on; set_optimizer starts new ones at 1.")
      .def_property(
          "input_error_needed", [](const Self& self) { return self.graph.input_error_needed(); },
          [](Self& self, bool needed) { self.graph.set_input_error_needed(needed); },
          "Whether backward() computes the error for the graph's input (off by default).")
      .def(
          "train_step",
          [](Self& self, const py::object& input, const py::object& label, Loss<T>& loss) {
            Tensor<T> x = to_tensor<T>(input, "Graph.train_step input");
            const Tensor<T> y = to_tensor<T>(label, "Graph.train_step label");
            py::gil_scoped_release release;
            const T value = forward_and_loss(self.graph, loss, std::move(x), y, "Graph.train_step");
            backward_and_update(self.graph, loss, y);
            return value;
          },
          py::arg("input"), py::arg("label"), py::arg("loss"),
          "One training step, the one Model.fit and `cnnkit train` take: forward, the loss, "
          "backward, update. label: one-hot (batch, classes). Returns the batch's loss.")
      .def(
          "infer",
          [](Self& self, const py::object& input) {
            const Tensor<T> x = to_tensor<T>(input, "Graph.infer");
            Tensor<T> result;
            {
              py::gil_scoped_release release;
              result = self.graph.infer(x);
            }
            return to_array(std::move(result));
          },
          py::arg("input"), "The testing phase (inference): the prediction for a batch.");

  m.def(("gradient_check_graph" + suffix<T>()).c_str(),
        [](Self& self, Loss<T>& loss, const py::object& input, const py::object& label, T step,
           T absolute_floor) {
          const Tensor<T> x = to_tensor<T>(input, "gradient_check input");
          const Tensor<T> y = to_tensor<T>(label, "gradient_check label");
          GradientCheckResult result;
          {
            py::gil_scoped_release release;
            result = gradient_check(self.graph, loss, x, y, step, absolute_floor);
          }
          return errors_dict(result);
        },
        py::arg("graph"), py::arg("loss"), py::arg("input"), py::arg("label"), py::arg("step"),
        py::arg("absolute_floor"));
}

template void bind_graph<float>(py::module_&);
template void bind_graph<double>(py::module_&);

}  // namespace cnnkit::python
