// The data loaders: every one returns numpy arrays, inputs (count, ...) of float32 and labels
// (count,) of int64, plus the class names.
#include <pybind11/stl.h>

#include <cnnkit/data/builtin.hpp>
#include <cnnkit/data/csv.hpp>
#include <cnnkit/data/idx.hpp>
#include <cnnkit/data/image_folder.hpp>

#include "arrays.hpp"
#include "bind.hpp"

namespace cnnkit::python {

namespace {

// (inputs, labels, class_names); the inputs move into the array, no copy.
py::tuple to_arrays(Dataset<float>&& data) {
  py::array_t<std::int64_t> labels(static_cast<py::ssize_t>(data.labels.size()));
  std::copy(data.labels.begin(), data.labels.end(), labels.mutable_data());
  return py::make_tuple(to_array(std::move(data.inputs)), labels, py::cast(data.class_names));
}

py::tuple split_to_arrays(std::pair<Dataset<float>, Dataset<float>>&& sets) {
  return py::make_tuple(to_arrays(std::move(sets.first)), to_arrays(std::move(sets.second)));
}

}  // namespace

void bind_data(py::module_& m) {
  m.def(
      "load_idx",
      [](const std::string& images, const std::string& labels,
         std::vector<std::string> class_names) {
        return to_arrays(
            reading_files([&] { return load_idx<float>(images, labels, class_names); }));
      },
      py::arg("images_path"), py::arg("labels_path"),
      py::arg("class_names") = std::vector<std::string>{});
  m.def(
      "load_idx_directory",
      [](const std::string& dir, std::vector<std::string> class_names) {
        return split_to_arrays(
            reading_files([&] { return load_idx_directory<float>(dir, class_names); }));
      },
      py::arg("directory"), py::arg("class_names") = std::vector<std::string>{});
  m.def("fashion_mnist_class_names", &fashion_mnist_class_names);
  m.attr("FASHION_MNIST_DIR") = kFashionMnistDir;
  m.def(
      "load_csv",
      [](const std::string& path, std::size_t label_column, std::optional<bool> header,
         char delimiter, std::vector<std::string> class_names) {
        CsvOptions options;
        options.label_column = label_column;
        options.header = header;
        options.delimiter = delimiter;
        options.class_names = std::move(class_names);
        return to_arrays(reading_files([&] { return load_csv<float>(path, options); }));
      },
      py::arg("path"), py::arg("label_column"), py::arg("header"), py::arg("delimiter"),
      py::arg("class_names"));
  m.def(
      "load_digits",
      [](const std::string& path, bool split) -> py::tuple {
        Dataset<float> digits = reading_files([&] { return load_digits<float>(path); });
        if (!split) return to_arrays(std::move(digits));
        return split_to_arrays(
            shuffled_split(digits, kDigitsSplit.train_fraction, kDigitsSplit.split_seed));
      },
      py::arg("path"), py::arg("split"));
  m.def(
      "load_image_folder",
      [](const std::string& dir, const py::object& sample_shape) {
        const Shape shape = to_shape(sample_shape, "load_image_folder sample_shape");
        return to_arrays(reading_files([&] { return load_image_folder<float>(dir, shape); }));
      },
      py::arg("directory"), py::arg("sample_shape"));
}

}  // namespace cnnkit::python
