// Reader for the CIFAR-10 binary format (data_batch_*.bin, test_batch.bin).
#pragma once

#include <string>
#include <vector>

#include "data/dataset.hpp"

namespace kbnn {

// Reads and concatenates CIFAR-10 binary files: records of 3073 bytes, one label byte
// then the 32x32 red, green and blue planes. Pixels come back as HWC (3 channels).
// Throws InputError if a file cannot be read, its size is not a non-zero multiple of
// 3073, or a label is outside [0, 10).
Dataset read_cifar10(const std::vector<std::string>& files);

}  // namespace kbnn
