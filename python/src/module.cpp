// The _cnnkit extension module: the bindings of every part, the exception translation, and the
// library-wide knobs. cnnkit/__init__.py builds the package's public names on top of it.
#include <cnnkit/random.hpp>
#include <cnnkit/threading.hpp>

#include "arrays.hpp"
#include "bind.hpp"

PYBIND11_MODULE(_cnnkit, m) {
  namespace py = pybind11;
  using namespace cnnkit::python;
  m.doc() = "cnnkit's C++ bindings; use the cnnkit package.";
  // std::invalid_argument is ValueError already (pybind11); a file cnnkit cannot read is OSError.
  py::register_exception_translator([](std::exception_ptr error) {
    try {
      if (error) std::rethrow_exception(error);
    } catch (const FileError& e) {
      PyErr_SetString(PyExc_OSError, e.what());
    }
  });
  m.def("set_seed", &cnnkit::set_seed, py::arg("seed"),
        "Re-seeds cnnkit's random engine: the same seed gives the same weights and batches.");
  m.def("set_num_threads", &cnnkit::set_num_threads, py::arg("threads"),
        "Threads for every kernel from now on (0: all cores this process may use).");
  m.def("num_threads", &cnnkit::num_threads, "Threads the kernels use now.");
  bind_layers<float>(m);
  bind_layers<double>(m);
  bind_parts<float>(m);
  bind_parts<double>(m);
  bind_network<float>(m);
  bind_network<double>(m);
  bind_graph<float>(m);
  bind_graph<double>(m);
  bind_training(m);
  bind_model_functions(m);
  bind_model<float>(m);
  bind_model<double>(m);
  bind_data(m);
}
