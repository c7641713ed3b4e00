// A small convolutional model and a data set to run it on, shared by the tests that
// compare one computation spread over ranks in different ways (rank invariance of
// training, the two prediction splits).
#pragma once

#include "app/deck.hpp"
#include "data/dataset.hpp"

namespace kbnn::test {

// conv(4) - relu - pool - conv(6, reparam) - relu - flatten - dense(12) - relu - dense(10),
// Flipout where the line names no estimator.
inline ModelConfig small_model() {
  ModelConfig m;
  for (const char* line : {"conv2d out=4 kernel=3 padding=1", "relu", "maxpool2d size=2",
                           "conv2d out=6 kernel=3 estimator=reparam", "relu", "flatten",
                           "dense out=12", "relu", "dense out=10"})
    m.layers.push_back(parse_layer(line));
  for (auto& l : m.layers)
    if (!l.estimator) l.estimator = Estimator::flipout;
  return m;
}

// 37 images of 8x8x1 with a deterministic pattern; label i % 10.
inline Dataset synthetic_images() {
  Dataset d;
  d.source = "synthetic";
  d.count = 37;
  d.height = d.width = 8;
  d.channels = 1;
  d.num_classes = 10;
  d.pixels.resize(std::size_t(d.count * 64));
  for (std::size_t i = 0; i < d.pixels.size(); ++i) d.pixels[i] = std::uint8_t((i * 37 + i / 64) % 251);
  for (std::int64_t i = 0; i < d.count; ++i) d.labels.push_back(std::int32_t(i % 10));
  return d;
}

}  // namespace kbnn::test
