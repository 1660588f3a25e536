// The data layers of cnnkit_bench: Fashion-MNIST's IDX files streamed into bytes, W1's
// shuffled batches scaled on the fly, and W2's random draws.
#pragma once

#include <zlib.h>

#include <algorithm>
#include <cstddef>
#include <numeric>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "cnnkit/cnnkit.hpp"
#include "cnnkit/data/dataset.hpp"
#include "cnnkit/data/idx.hpp"
#include "runtime/parallel.hpp"

namespace cnnkit::bench {

// An unsigned-byte IDX file (.gz or plain) streamed straight into its final buffer, so that the
// process never holds the compressed file, the decompressed file and the parsed copy at once
// (cnnkit::read_idx_file does, for a 153 MB peak on Fashion-MNIST). Same result as read_idx_file.
inline cnnkit::IdxArray stream_idx(const std::string& path) {
  gzFile file = gzopen(path.c_str(), "rb");  // reads plain files too
  if (file == nullptr) throw std::runtime_error("cnnkit_bench: cannot open " + path);
  const auto read = [&](void* into, std::size_t bytes) {
    auto* at = static_cast<unsigned char*>(into);
    while (bytes > 0) {
      const unsigned chunk = static_cast<unsigned>(std::min<std::size_t>(bytes, 1u << 30));
      const int got = gzread(file, at, chunk);
      if (got <= 0) {
        gzclose(file);
        throw std::runtime_error("cnnkit_bench: " + path + " is shorter than its IDX header says");
      }
      at += got;
      bytes -= static_cast<std::size_t>(got);
    }
  };
  unsigned char magic[4];
  read(magic, 4);
  if (magic[0] != 0 || magic[1] != 0 || magic[2] != 0x08 || magic[3] == 0) {
    gzclose(file);
    throw std::runtime_error("cnnkit_bench: " + path + " is not an unsigned-byte IDX file");
  }
  cnnkit::IdxArray array;
  std::size_t count = 1;
  for (int d = 0; d < magic[3]; ++d) {
    unsigned char size[4];
    read(size, 4);
    array.dims.push_back((std::size_t{size[0]} << 24) | (std::size_t{size[1]} << 16) |
                         (std::size_t{size[2]} << 8) | std::size_t{size[3]});
    count *= array.dims.back();
  }
  array.bytes.resize(count);
  read(array.bytes.data(), count);
  gzclose(file);
  return array;
}

// Images kept as bytes (count, 1, rows, cols); batches of `batch` in an order shuffled with the
// library's engine every epoch, the last short batch kept, pixels scaled by 1/255 on the way.
class ByteImageBatches : public cnnkit::DataLayer<float> {
 public:
  ByteImageBatches(const cnnkit::IdxArray& images, const cnnkit::IdxArray& labels,
                   std::size_t batch)
      : images_(images), labels_(labels), batch_(batch), order_(labels.dims[0]) {
    pixels_ = images.dims[1] * images.dims[2];
  }

  cnnkit::Batch<float> next() override {
    const std::size_t count = order_.size();
    if (position_ == 0 || position_ >= count) {
      std::iota(order_.begin(), order_.end(), std::size_t{0});
      std::shuffle(order_.begin(), order_.end(), cnnkit::random_engine());
      position_ = 0;
    }
    const std::size_t n = std::min(batch_, count - position_);
    // In the buffers of the last batch (recycle): every pixel is written below; the labels
    // start as zeros (one-hot).
    cnnkit::Batch<float> batch = buffers_.take({n, 1, images_.dims[1], images_.dims[2]}, {n, 10});
    batch.label.fill(0.0f);
    // Shared among the threads: the other one would wait meanwhile (runtime/parallel.hpp).
    cnnkit::runtime::parallel_for(n, true, [&](std::size_t i) {
      const std::size_t sample = order_[position_ + i];
      const unsigned char* src = images_.bytes.data() + sample * pixels_;
      float* dst = batch.input.data() + i * pixels_;
      for (std::size_t p = 0; p < pixels_; ++p) dst[p] = static_cast<float>(src[p]) / 255.0f;
      batch.label[i * 10 + labels_.bytes[sample]] = 1.0f;
    });
    position_ += n;
    // The next batch's images, picked at random from 47 MB, are in no cache: ask for them now,
    // so that they arrive while the network trains on this batch (the other thread waits for
    // this call).
    for (std::size_t i = position_; i < std::min(count, position_ + batch_); ++i) {
      const unsigned char* image = images_.bytes.data() + order_[i] * pixels_;
      for (std::size_t byte = 0; byte < pixels_; byte += 64) __builtin_prefetch(image + byte);
    }
    return batch;
  }
  void recycle(cnnkit::Batch<float>&& spent) override { buffers_.give(std::move(spent)); }

 private:
  cnnkit::BatchBuffers<float> buffers_;
  const cnnkit::IdxArray& images_;
  const cnnkit::IdxArray& labels_;
  std::size_t batch_;
  std::size_t pixels_ = 0;
  std::vector<std::size_t> order_;
  std::size_t position_ = 0;
};

// `batch` distinct samples drawn at random for every call (W2, as torch_ref.py draws them).
class RandomDraws : public cnnkit::DataLayer<float> {
 public:
  RandomDraws(const cnnkit::Dataset<float>& data, std::size_t batch)
      : data_(data), batch_(batch), order_(data.size()) {
    std::iota(order_.begin(), order_.end(), std::size_t{0});
  }
  cnnkit::Batch<float> next() override {
    // Partial Fisher-Yates: the first `batch_` entries become a uniform random draw.
    auto& engine = cnnkit::random_engine();
    for (std::size_t i = 0; i < batch_; ++i) {
      std::uniform_int_distribution<std::size_t> pick(i, order_.size() - 1);
      std::swap(order_[i], order_[pick(engine)]);
    }
    // The drawn rows and their one-hot labels, in the buffers of the last batch (recycle).
    const std::size_t features = data_.inputs.size() / data_.size();
    Shape shape{batch_};
    const Shape sample = data_.sample_shape();
    shape.insert(shape.end(), sample.begin(), sample.end());
    cnnkit::Batch<float> batch = buffers_.take(shape, {batch_, 10});
    batch.label.fill(0.0f);
    for (std::size_t i = 0; i < batch_; ++i) {
      const float* row = data_.inputs.data() + order_[i] * features;
      std::copy(row, row + features, batch.input.data() + i * features);
      batch.label[i * 10 + data_.labels[order_[i]]] = 1.0f;
    }
    return batch;
  }
  void recycle(cnnkit::Batch<float>&& spent) override { buffers_.give(std::move(spent)); }

 private:
  cnnkit::BatchBuffers<float> buffers_;
  const cnnkit::Dataset<float>& data_;
  std::size_t batch_;
  std::vector<std::size_t> order_;
};

}  // namespace cnnkit::bench
