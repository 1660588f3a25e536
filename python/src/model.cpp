// Model<T> for the package's Model class (cnnkit/model.py): built from a description, trained
// by the library's train() (callbacks call back into Python with the GIL held), saved and loaded
// as the same safetensors files as the C++ API and the tool.
#include <pybind11/functional.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <cnnkit/model/best_model.hpp>
#include <cnnkit/model/evaluation.hpp>
#include <cnnkit/model/model.hpp>
#include <cnnkit/model/model_file.hpp>
#include <cnnkit/model/model_summary.hpp>
#include <cnnkit/model/trainer.hpp>
#include <cnnkit/random.hpp>
#include <cnnkit/training_step.hpp>
#include <optional>

#include "arrays.hpp"
#include "bind.hpp"
#include "fit_settings.hpp"
#include "training.hpp"

namespace cnnkit::python {

namespace {

// The model with the training state of its fits so far (fit continues the epoch count).
template <typename T>
struct PyModel {
  Model<T> model;
  TrainingState state;
  std::optional<ModelWeights<T>> best_weights;  // of state.best_epoch, when fit keeps them
};

// The class names a model trains on: its own, or "0".."k-1" for its k outputs.
std::vector<std::string> class_names_of(const ModelDescription& description) {
  if (!description.classes.empty()) return description.classes;
  std::vector<std::string> names;
  for (std::size_t k = 0; k < num_outputs(description); ++k) names.push_back(std::to_string(k));
  return names;
}

// The one copy of (x, y) into a Dataset, checked against the model ("fit x", "evaluate y", ...).
template <typename T>
Dataset<T> to_dataset(const Model<T>& model, const py::object& x, const py::object& y,
                      const std::string& what) {
  Dataset<T> data;
  data.class_names = class_names_of(model.description);
  data.inputs = to_tensor<T>(x, what + " x");
  if (data.inputs.rank() < 2) {
    throw py::value_error(what + " x: expected (count, " +
                          to_string(model.description.input_shape).substr(1) + ", got shape " +
                          to_string(data.inputs.shape()));
  }
  require_finite(data.inputs.data(), data.inputs.size(),
                 data.inputs.size() / std::max<std::size_t>(data.inputs.dim(0), 1), what + " x");
  data.labels = class_indices(y, data.inputs.dim(0), data.class_names.size(), what + " y");
  require_data_fits(model, data, what + " x");
  return data;
}

// One epoch's figures; val_* are the held-out part's (validation_split) or else validation_data's.
py::dict metrics_dict(const EpochMetrics& metrics, bool split) {
  py::dict d;
  d["epoch"] = metrics.epoch;
  d["loss"] = metrics.train_loss;
  d["accuracy"] = metrics.train_accuracy;
  d["val_loss"] = split ? metrics.validation_loss : metrics.test_loss;
  d["val_accuracy"] = split ? metrics.validation_accuracy : metrics.test_accuracy;
  d["seconds"] = metrics.seconds;
  return d;
}

template <typename T>
py::list layers_of(const py::object& self) {
  py::list layers;
  for (Layer<T>* layer : self.cast<PyModel<T>&>().model.graph.layers()) {
    // A reference the model object keeps alive (the layers are its own).
    layers.append(py::cast(layer, py::return_value_policy::reference_internal, self));
  }
  return layers;
}

template <typename T>
py::list fit(PyModel<T>& self, const py::object& x, const py::object& y, std::size_t epochs,
             std::size_t batch_size, const py::object& validation_x, const py::object& validation_y,
             std::optional<std::uint64_t> seed, const py::object& on_batch,
             const py::object& on_epoch, const UpdateSettings& settings, const RunSettings& run) {
  if (self.model.description.classes.empty()) {
    self.model.description.classes = class_names_of(self.model.description);
  }
  const Dataset<T> train_set = to_dataset(self.model, x, y, "fit");
  Dataset<T> test_set;
  test_set.class_names = train_set.class_names;
  if (!validation_x.is_none())
    test_set = to_dataset(self.model, validation_x, validation_y, "fit validation_data");
  if (self.state.epoch > 0 && self.state.batch_size != batch_size) {
    throw py::value_error("Model.fit: expected the batch size of the earlier fit (" +
                          std::to_string(self.state.batch_size) + ") to continue it, got " +
                          std::to_string(batch_size));
  }
  const TrainOptions options = train_options(self.state, epochs, batch_size, run);
  ModelDescription asked = with_settings<T>(self.model.description, settings);
  adopt_settings(self.model, std::move(asked));
  if (seed) {
    set_seed(*seed);
    if (self.state.epoch == 0) self.state.seed = *seed;  // keys dropout and augmentation
  }
  const std::size_t first_history = self.state.history.size();
  const bool split = run.validation_split > 0.0;

  // A Python error (Ctrl-C's KeyboardInterrupt, or a callback's exception) stops the run before
  // the next batch and is raised once train() has returned.
  std::optional<py::error_already_set> error;
  TrainCallbacks<T> callbacks;
  if (!on_batch.is_none()) {
    callbacks.on_batch = [&](const BatchProgress& p) {
      py::gil_scoped_acquire acquire;
      if (error) return;
      try {
        on_batch(p.epoch, p.epochs, p.batch, p.batches, p.running_loss, p.running_accuracy,
                 p.seconds);
      } catch (py::error_already_set& e) {
        error.emplace(std::move(e));
      }
    };
  }
  callbacks.on_epoch = [&](const Model<T>& trained, const TrainingState& now, const Evaluation&) {
    // The best epoch's weights for a later fit, which continues this run (load_best).
    if (options.restore_best_weights && now.best_epoch == now.epoch) {
      self.best_weights = copy_weights(trained);
    }
    if (on_epoch.is_none()) return;
    py::gil_scoped_acquire acquire;
    if (error) return;
    try {
      on_epoch(metrics_dict(now.history.back(), split));
    } catch (py::error_already_set& e) {
      error.emplace(std::move(e));
    }
  };
  callbacks.stop_requested = [&] {
    py::gil_scoped_acquire acquire;
    if (!error && PyErr_CheckSignals() != 0) error.emplace();
    return error.has_value();
  };
  callbacks.load_best = [&](Model<T>& into) {
    if (!self.best_weights) {
      throw std::invalid_argument(
          "Model.fit: expected the best epoch's weights of the earlier fit, got none (it ran "
          "without restore_best_weights)");
    }
    restore_weights(into, *self.best_weights);
  };
  {
    py::gil_scoped_release release;
    train(self.model, train_set, test_set, options, self.state, callbacks);
  }
  if (error) throw std::move(*error);
  py::list history;
  for (std::size_t e = first_history; e < self.state.history.size(); ++e) {
    history.append(metrics_dict(self.state.history[e], split));
  }
  return history;
}

// One training step on (x, y) as one batch, the step fit takes: forward, loss, backward, update.
template <typename T>
T train_on_batch(PyModel<T>& self, const py::object& x, const py::object& y) {
  Dataset<T> data = to_dataset(self.model, x, y, "train_on_batch");
  const std::size_t classes = data.class_names.size();
  Tensor<T> label(Shape{data.labels.size(), classes});
  for (std::size_t n = 0; n < data.labels.size(); ++n) label[n * classes + data.labels[n]] = T(1);
  const py::gil_scoped_release release;
  const T loss = forward_and_loss(self.model.graph, *self.model.loss, std::move(data.inputs), label,
                                  "Model.train_on_batch");
  backward_and_update(self.model.graph, *self.model.loss, label);
  return loss;
}

// The model's output for x in batches, each copied once into a reused input tensor.
template <typename T>
py::array_t<T> predict(PyModel<T>& self, const py::object& x, std::size_t batch_size) {
  const py::array_t<T> inputs = checked_array<T>(x, "Model.predict x");
  const Shape& sample = self.model.description.input_shape;
  Shape shape = shape_of(inputs);
  if (shape.size() != sample.size() + 1 ||
      !std::equal(sample.begin(), sample.end(), shape.begin() + 1)) {
    Shape expected = sample;
    expected.insert(expected.begin(), shape.front());
    throw py::value_error("Model.predict: model '" + self.model.description.name +
                          "' expects x of shape " + to_string(expected) + ", got " +
                          shape_text(inputs));
  }
  if (batch_size == 0) throw py::value_error("Model.predict: expected a batch size > 0, got 0");
  const std::size_t count = shape.front();
  const std::size_t outputs = num_outputs(self.model.description);
  const std::size_t sample_size = element_count(sample);
  py::array_t<T> result(
      std::vector<py::ssize_t>{static_cast<py::ssize_t>(count), static_cast<py::ssize_t>(outputs)});
  T* const out = result.mutable_data();
  const T* const in = inputs.data();
  {
    py::gil_scoped_release release;
    const TestingPhaseScope<T> testing(self.model.graph.layers());
    Tensor<T> batch;
    for (std::size_t first = 0; first < count; first += batch_size) {
      const std::size_t n = std::min(batch_size, count - first);
      shape.front() = n;
      batch = Tensor<T>::uninitialized(shape, std::move(batch));
      // Checked in the copy: one pass over the input, not two.
      copy_finite(in + first * sample_size, n * sample_size, batch.data(), sample_size,
                  "Model.predict x", first);
      const Tensor<T> prediction = self.model.forward(batch);
      std::copy(prediction.begin(), prediction.end(), out + first * outputs);
    }
  }
  return result;
}

}  // namespace

void bind_model_functions(py::module_& m) {
  m.def("preset_names", &preset_names, "The built-in model presets.");
  m.def("is_preset", [](const std::string& name) { return is_preset(name); });
  m.def(
      "description_json",
      [](const std::string& source) {
        if (is_preset(source)) return to_json(preset(source));
        if (source.find('{') != std::string::npos) return to_json(parse_model_description(source));
        return to_json(reading_files([&] { return load_model_description(source); }));
      },
      py::arg("source"),
      "The JSON description of a preset name, a JSON text or a JSON file (checked).");
}

template <typename T>
void bind_model(py::module_& m) {
  using Self = PyModel<T>;
  py::class_<Self>(m, ("ModelCore" + suffix<T>()).c_str(),
                   "Model<T> and its training state (see cnnkit.Model).")
      .def_static(
          "build",
          [](const std::string& json_text, std::optional<std::uint64_t> seed) {
            const ModelDescription description = parse_model_description(json_text);
            if (seed) set_seed(*seed);
            Self built{build_model<T>(description), {}, {}};
            built.state.seed = seed.value_or(0);  // keys dropout and augmentation, as the tool's
            return built;
          },
          py::arg("json_text"), py::arg("seed") = py::none())
      .def_static(
          "load",
          [](const std::string& path) {
            return Self{reading_files([&] { return load_model<T>(path); }), {}, {}};
          },
          py::arg("path"))
      .def("save",
           [](const Self& self, const std::string& path) {
             reading_files(
                 [&] { save_model(path, self.model.description, self.model.graph.layers()); });
           })
      .def_property_readonly("description_json",
                             [](const Self& self) { return to_json(self.model.description); })
      .def_property_readonly("name", [](const Self& self) { return self.model.description.name; })
      .def_property_readonly(
          "input_shape",
          [](const Self& self) {
            const Shape& s = self.model.description.input_shape;
            return py::tuple(py::cast(std::vector<std::size_t>(s.begin(), s.end())));
          })
      .def_property(
          "classes", [](const Self& self) { return class_names_of(self.model.description); },
          [](Self& self, std::vector<std::string> classes) {
            if (classes.size() != num_outputs(self.model.description)) {
              throw py::value_error("Model.classes: expected " +
                                    std::to_string(num_outputs(self.model.description)) +
                                    " class names, got " + std::to_string(classes.size()));
            }
            self.model.description.classes = std::move(classes);
          })
      .def_property_readonly("epochs_done", [](const Self& self) { return self.state.epoch; })
      .def_property_readonly("layers", &layers_of<T>)
      .def("summary",
           [](const Self& self) { return format_summary(summarize(self.model.description)); })
      .def(
          "fit",
          [](Self& self, const py::object& x, const py::object& y, std::size_t epochs,
             std::size_t batch_size, const py::object& validation_x, const py::object& validation_y,
             std::optional<std::uint64_t> seed, const py::object& on_batch,
             const py::object& on_epoch, const py::object& optimizer,
             std::optional<double> weight_decay, std::optional<bool> decay_bias_and_norm,
             std::optional<ScheduleSpec> schedule, std::optional<double> clip_norm,
             double validation_split, std::string monitor, std::optional<std::size_t> patience,
             bool restore_best_weights, std::optional<Augmentation> augmentation,
             PyCommunicator* communicator, std::optional<std::size_t> gradient_groups) {
            return fit<T>(
                self, x, y, epochs, batch_size, validation_x, validation_y, seed, on_batch,
                on_epoch,
                UpdateSettings{optimizer, weight_decay, decay_bias_and_norm, schedule, clip_norm},
                RunSettings{validation_split, std::move(monitor), patience, restore_best_weights,
                            augmentation, communicator, gradient_groups});
          },
          py::arg("x"), py::arg("y"), py::arg("epochs"), py::arg("batch_size"),
          py::arg("validation_x"), py::arg("validation_y"), py::arg("seed"), py::arg("on_batch"),
          py::arg("on_epoch"), py::arg("optimizer"), py::arg("weight_decay"),
          py::arg("decay_bias_and_norm"), py::arg("schedule"), py::arg("clip_norm"),
          py::arg("validation_split"), py::arg("monitor"), py::arg("patience"),
          py::arg("restore_best_weights"), py::arg("augmentation"), py::arg("communicator"),
          py::arg("gradient_groups"))
      .def("train_on_batch", &train_on_batch<T>, py::arg("x"), py::arg("y"))
      .def("predict", &predict<T>, py::arg("x"), py::arg("batch_size"))
      .def(
          "evaluate",
          [](Self& self, const py::object& x, const py::object& y, std::size_t batch_size) {
            const Dataset<T> data = to_dataset(self.model, x, y, "evaluate");
            Evaluation result;
            {
              py::gil_scoped_release release;
              result = evaluate(self.model, data, batch_size);
            }
            py::dict d;
            d["loss"] = result.loss;
            d["accuracy"] = result.accuracy;
            return d;
          },
          py::arg("x"), py::arg("y"), py::arg("batch_size"));
}

template void bind_model<float>(py::module_&);
template void bind_model<double>(py::module_&);

}  // namespace cnnkit::python
