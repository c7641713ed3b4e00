// A data set held on the host, exactly as read from disk (no normalisation): uint8
// images kept as bytes, or float features of any shape; class labels or real-valued
// targets. And the entry point that picks a directory reader by format.
#pragma once

#include "core/choices.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace kbnn {

struct Dataset {
  std::string source;                        // file or directory it came from, for messages
  std::int64_t count = 0;                    // number of examples N
  // The shape of one example, NHWC: an image, or 1 x 1 x F for a vector of F features.
  int height = 0, width = 0, channels = 0;
  int num_classes = 0;                // classification: labels lie in [0, num_classes)
  // The classes' names, class k first (an HDF5 file's class_names, CIFAR-10's own);
  // empty where the data does not name them.
  std::vector<std::string> class_names;
  // The features: uint8 bytes (images, scaled by 1/255 when batched) or, with
  // float_features, float values used as they are.
  bool float_features = false;
  std::vector<std::uint8_t> pixels;   // (count, height, width, channels), raw 0..255
  std::vector<float> values;          // (count, height, width, channels), with float_features
  // The targets: class labels, or target_dim > 0 real values per example (regression).
  std::vector<std::int32_t> labels;   // (count); -1 where the set has none (!labeled)
  bool labeled = true;                // false: an OOD set read without labels (HDF5)
  int target_dim = 0;
  std::vector<float> targets;         // (count, target_dim)
  std::int64_t features() const { return std::int64_t(height) * width * channels; }
};

// One example's shape for messages: "13 features" (a vector) or "12x20x3" (an image).
std::string shape_text(int height, int width, int channels);
inline std::string shape_text(const Dataset& d) {
  return shape_text(d.height, d.width, d.channels);
}

// What the log calls its examples: "images" for uint8 images with class labels (IDX,
// CIFAR-10, uint8 HDF5), "examples" for float features or real targets (a table).
inline const char* example_noun(const Dataset& d) {
  return d.target_dim == 0 && !d.float_features ? "images" : "examples";
}

// The two splits every data set comes in.
enum class SplitPart { train, test };

// Keeps only the first n examples (n <= 0 or n >= count: unchanged). For quick tests/runs.
void truncate(Dataset& d, std::int64_t n);

// Examples [first, first + count) of d, as a new data set (a rank's partition).
Dataset slice(const Dataset& d, std::int64_t first, std::int64_t count);

// Loads a split from a directory: format idx uses {train,t10k}-images-idx3-ubyte[.gz]
// and {train,t10k}-labels-idx1-ubyte[.gz] (prefer .gz if both exist); format cifar10
// uses data_batch_1.bin..data_batch_5.bin (train) or test_batch.bin (test), looked up in
// dir and dir/cifar-10-batches-bin. hdf5 is no directory format (data/hdf5_dataset.hpp
// reads it by rows) -> InputError naming the formats this reads.
Dataset load_dataset(DataFormat format, const std::string& dir, SplitPart part);

}  // namespace kbnn
