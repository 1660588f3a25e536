// Image files through stb_image (Debian libstb-dev), converted to the shape a model expects.
#include "cnnkit/data/image_folder.hpp"

#include <stb/stb_image.h>

#include <algorithm>
#include <cctype>
#include <climits>
#include <filesystem>
#include <memory>
#include <stdexcept>

#include "check.hpp"
#include "data/image_resize.hpp"
#include "io/file_bytes.hpp"

namespace cnnkit {
namespace {

namespace fs = std::filesystem;

void check_sample_shape(const Shape& sample_shape, const std::string& component) {
  const bool valid = sample_shape.size() == 3 && (sample_shape[0] == 1 || sample_shape[0] == 3) &&
                     sample_shape[1] > 0 && sample_shape[2] > 0;
  detail::require(valid, component, "an image shape [channels, height, width] with 1 or 3 channels",
                  to_string(sample_shape));
}

bool is_image_file(const fs::path& path) {
  std::string extension = path.extension().string();
  std::transform(extension.begin(), extension.end(), extension.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  constexpr std::string_view kExtensions[] = {".png", ".jpg", ".jpeg", ".bmp",
                                              ".gif", ".tga", ".ppm",  ".pgm"};
  return std::find(std::begin(kExtensions), std::end(kExtensions), extension) !=
         std::end(kExtensions);
}

bool is_hidden(const fs::path& path) {
  return path.filename().string().starts_with('.');
}

// The entries of a directory that pass `keep`, sorted by name (directory order is arbitrary).
template <typename Keep>
std::vector<fs::path> sorted_entries(const fs::path& dir, Keep keep) {
  std::vector<fs::path> entries;
  for (const fs::directory_entry& entry : fs::directory_iterator(dir)) {
    if (!is_hidden(entry.path()) && keep(entry)) entries.push_back(entry.path());
  }
  std::sort(entries.begin(), entries.end());
  return entries;
}

}  // namespace

template <typename T>
Tensor<T> decode_image(std::span<const unsigned char> bytes, const std::string& source,
                       const Shape& sample_shape, const Limits& limits) {
  const std::string component = "image '" + source + "'";
  check_sample_shape(sample_shape, component);
  detail::require(bytes.size() <= INT_MAX, component, "a file below 2 GiB",
                  std::to_string(bytes.size()) + " bytes");
  const int channels = static_cast<int>(sample_shape[0]);
  int width = 0;
  int height = 0;
  int channels_in_file = 0;
  // The size from the header first: a small file may describe billions of pixels.
  if (stbi_info_from_memory(bytes.data(), static_cast<int>(bytes.size()), &width, &height,
                            &channels_in_file) == 0) {
    const char* const reason = stbi_failure_reason();
    detail::fail(component, "a PNG, JPEG, BMP, GIF, TGA or PNM image stb_image can read",
                 reason != nullptr ? reason : "an unreadable file");
  }
  // stb accepts a PNM of width 0 and any height: nothing to decode, but a resize of millions of
  // empty rows.
  if (width <= 0 || height <= 0) {
    detail::fail(component, "an image of at least 1x1 pixels",
                 std::to_string(width) + "x" + std::to_string(height));
  }
  const std::uint64_t pixels_in_file =
      static_cast<std::uint64_t>(width) * static_cast<std::uint64_t>(height);
  if (pixels_in_file > limits.image_pixels) {
    detail::fail(component,
                 "at most " + std::to_string(limits.image_pixels) + " pixels" +
                     limit_hint("CNNKIT_MAX_IMAGE_PIXELS"),
                 std::to_string(width) + "x" + std::to_string(height));
  }
  // stb converts to the requested channel count itself (grey by luminance, grey to RGB).
  const std::unique_ptr<stbi_uc, decltype(&stbi_image_free)> pixels(
      stbi_load_from_memory(bytes.data(), static_cast<int>(bytes.size()), &width, &height,
                            &channels_in_file, channels),
      &stbi_image_free);
  if (!pixels) {
    const char* const reason = stbi_failure_reason();
    detail::fail(component, "a PNG, JPEG, BMP, GIF, TGA or PNM image stb_image can decode",
                 reason != nullptr ? reason : "an undecodable file");
  }

  // Interleaved (height, width, channels) bytes -> planar (channels, height, width) in [0, 1].
  const auto rows = static_cast<std::size_t>(height);
  const auto cols = static_cast<std::size_t>(width);
  const auto planes = static_cast<std::size_t>(channels);
  Tensor<T> decoded({planes, rows, cols});
  for (std::size_t y = 0; y < rows; ++y) {
    for (std::size_t x = 0; x < cols; ++x) {
      for (std::size_t c = 0; c < planes; ++c) {
        decoded[(c * rows + y) * cols + x] =
            static_cast<T>(pixels.get()[(y * cols + x) * planes + c]) / T(255);
      }
    }
  }
  if (rows == sample_shape[1] && cols == sample_shape[2]) return decoded;
  Tensor<T> resized(sample_shape);
  detail::resize_bilinear(decoded.data(), planes, rows, cols, resized.data(), sample_shape[1],
                          sample_shape[2]);
  return resized;
}

template <typename T>
Tensor<T> load_image(const std::string& path, const Shape& sample_shape, const Limits& limits) {
  check_sample_shape(sample_shape, "image '" + path + "'");
  return decode_image<T>(detail::read_file_bytes(path, "image", limits.file_bytes), path,
                         sample_shape, limits);
}

template <typename T>
Dataset<T> load_image_folder(const std::string& dir, const Shape& sample_shape,
                             const Limits& limits) {
  const std::string component = "image folder '" + dir + "'";
  check_sample_shape(sample_shape, component);
  std::error_code error;
  if (!fs::is_directory(dir, error)) {
    throw std::runtime_error(component + ": expected a directory with one sub-folder per class, " +
                             "got no such directory");
  }
  const std::vector<fs::path> class_dirs =
      sorted_entries(dir, [](const fs::directory_entry& entry) { return entry.is_directory(); });
  if (class_dirs.empty()) {
    throw std::runtime_error(component + ": expected one sub-folder per class, got none");
  }

  Dataset<T> dataset;
  std::vector<fs::path> files;
  for (std::size_t label = 0; label < class_dirs.size(); ++label) {
    const std::vector<fs::path> images =
        sorted_entries(class_dirs[label], [](const fs::directory_entry& entry) {
          return entry.is_regular_file() && is_image_file(entry.path());
        });
    if (images.empty()) {
      throw std::runtime_error(component + ": expected image files in class folder '" +
                               class_dirs[label].string() + "', got none");
    }
    dataset.class_names.push_back(class_dirs[label].filename().string());
    files.insert(files.end(), images.begin(), images.end());
    dataset.labels.insert(dataset.labels.end(), images.size(), label);
  }

  Shape shape{files.size()};
  shape.insert(shape.end(), sample_shape.begin(), sample_shape.end());
  dataset.inputs = Tensor<T>(shape);
  const std::size_t sample_size = element_count(sample_shape);
  for (std::size_t i = 0; i < files.size(); ++i) {
    const Tensor<T> image = load_image<T>(files[i].string(), sample_shape, limits);
    std::copy(image.begin(), image.end(), dataset.inputs.data() + i * sample_size);
  }
  return dataset;
}

template Tensor<float> decode_image<float>(std::span<const unsigned char>, const std::string&,
                                           const Shape&, const Limits&);
template Tensor<double> decode_image<double>(std::span<const unsigned char>, const std::string&,
                                             const Shape&, const Limits&);
template Tensor<float> load_image<float>(const std::string&, const Shape&, const Limits&);
template Tensor<double> load_image<double>(const std::string&, const Shape&, const Limits&);
template Dataset<float> load_image_folder<float>(const std::string&, const Shape&, const Limits&);
template Dataset<double> load_image_folder<double>(const std::string&, const Shape&, const Limits&);

}  // namespace cnnkit
