// The settings of a training run that are not layers: the learning-rate schedule, image
// augmentation, per-channel normalisation, and the communicator of a data-parallel run. Model.fit
// (model.cpp) takes them; each is checked where it is made, with the library's message.
#include <pybind11/stl.h>

#include <cnnkit/communicator.hpp>
#include <cnnkit/data/augmentation.hpp>
#include <cnnkit/data/normalization.hpp>
#include <cnnkit/schedule.hpp>

#include "arrays.hpp"
#include "bind.hpp"
#include "training.hpp"

namespace cnnkit::python {

Communicator& PyCommunicator::get() {
  if (!communicator) {
    throw std::runtime_error(
        "cnnkit.distributed: expected an open communicator, got one closed by close() (MPI is "
        "finalized; it cannot start again in this process)");
  }
  return *communicator;
}

namespace {

// x normalised per channel (axis 1 of (count, C, ...)): a new array.
template <typename T>
py::array_t<T> normalized(const py::object& x, std::vector<double> mean, std::vector<double> std) {
  Dataset<T> data;
  data.inputs = to_tensor<T>(x, "normalize x");
  if (data.inputs.rank() < 2) {
    throw py::value_error("normalize x: expected (count, channels, ...), got shape " +
                          to_string(data.inputs.shape()));
  }
  data.labels.assign(data.inputs.dim(0), 0);
  data.class_names = {"0"};
  const Normalization normalization{std::move(mean), std::move(std)};
  validate(normalization, data.inputs.dim(1));
  {
    py::gil_scoped_release release;
    normalize(data, normalization);
  }
  return to_array(std::move(data.inputs));
}

}  // namespace

void bind_training(py::module_& m) {
  py::class_<ScheduleSpec>(m, "Schedule",
                           "A learning-rate schedule: the factor on every optimizer's learning "
                           "rate at training step t (see cnnkit.Schedule).")
      .def(py::init([](std::string type, std::size_t step_size, double gamma,
                       std::size_t warmup_steps, std::size_t total_steps) {
             ScheduleSpec spec{std::move(type), step_size, gamma, warmup_steps, total_steps};
             validate_schedule(spec);
             return spec;
           }),
           py::arg("type") = "constant", py::arg("step_size") = 0, py::arg("gamma") = 0.1,
           py::arg("warmup_steps") = 0, py::arg("total_steps") = 0)
      .def_readonly("type", &ScheduleSpec::type, "'constant', 'step' or 'cosine'.")
      .def_readonly("step_size", &ScheduleSpec::step_size,
                    "step: the factor gamma once every step_size steps.")
      .def_readonly("gamma", &ScheduleSpec::gamma, "step: the factor.")
      .def_readonly("warmup_steps", &ScheduleSpec::warmup_steps,
                    "The linear warm-up's steps W (0: none).")
      .def_readonly("total_steps", &ScheduleSpec::total_steps,
                    "The run's length T in steps; 0: epochs * ceil(N / batch) of the fit.")
      .def(
          "scale",
          [](const ScheduleSpec& self, std::uint64_t step, std::uint64_t run_steps) {
            return LearningRateSchedule(self, run_steps).scale(step);
          },
          py::arg("step"), py::arg("run_steps"),
          "The factor at step `step` (0-based) of a run of run_steps steps (total_steps wins "
          "when given). ValueError for a warm-up longer than the run.")
      .def("__repr__", [](const ScheduleSpec& self) {
        return "<cnnkit.Schedule '" + self.type + "' step_size " + std::to_string(self.step_size) +
               " gamma " + std::to_string(self.gamma) + " warmup_steps " +
               std::to_string(self.warmup_steps) + " total_steps " +
               std::to_string(self.total_steps) + ">";
      });

  py::class_<Augmentation>(m, "Augmentation",
                           "Image augmentation of the training batches (see cnnkit.Augmentation).")
      // Checked against the samples' shape when fit starts (the library's validate()).
      .def(py::init([](std::size_t crop_padding, double flip_probability) {
             return Augmentation{crop_padding, 0, 0, flip_probability};
           }),
           py::arg("crop_padding") = 0, py::arg("flip_probability") = 0.0)
      .def_readonly("crop_padding", &Augmentation::crop_padding,
                    "Zeros padded on every side before the random crop (0: no crop).")
      .def_readonly("flip_probability", &Augmentation::flip_probability,
                    "The probability of a horizontal flip.");

  m.def("normalize_float32", &normalized<float>, py::arg("x"), py::arg("mean"), py::arg("std"));
  m.def("normalize_float64", &normalized<double>, py::arg("x"), py::arg("mean"), py::arg("std"));

  py::class_<PyCommunicator>(m, "Communicator",
                             "The processes of a data-parallel run (cnnkit.distributed.world()).")
      .def_property_readonly(
          "rank", [](PyCommunicator& self) { return self.get().rank(); },
          "This process's rank, 0 .. size - 1.")
      .def_property_readonly(
          "size", [](PyCommunicator& self) { return self.get().size(); },
          "The number of processes (1 without mpirun).")
      .def_property_readonly(
          "name", [](PyCommunicator& self) { return self.get().name(); },
          "'single process' or the MPI library's name.")
      .def(
          "barrier", [](PyCommunicator& self) { self.get().barrier(); },
          py::call_guard<py::gil_scoped_release>(), "Waits until every rank has called it.")
      .def(
          "close", [](PyCommunicator& self) { self.communicator.reset(); },
          "Ends the communicator (MPI_Finalize under mpirun); runs at exit by itself.")
      .def_property_readonly(
          "closed", [](const PyCommunicator& self) { return !self.communicator; },
          "Whether close() has run.");
  m.def(
      "world_communicator",
      [] {
        try {
          return PyCommunicator{world_communicator()};
        } catch (const CommunicatorError& error) {
          throw std::runtime_error(error.what());
        }
      },
      "The communicator of this process: one process without mpirun, MPI under it.");
  m.def("started_by_mpirun", &started_by_mpirun, "Whether mpirun started this process.");
}

}  // namespace cnnkit::python
