// Reader for the IDX format of MNIST and Fashion-MNIST (gzipped or plain).
#pragma once

#include <string>

#include "data/dataset.hpp"

namespace kbnn {

// Reads an images file (magic 0x00000803: unsigned bytes, dims N x rows x cols) and a
// labels file (magic 0x00000801: N unsigned bytes). Either may be gzipped or plain.
// Throws InputError if a file cannot be read, has a wrong magic number, is shorter or
// longer than its header says (trailing bytes are rejected: they mean the file is not
// what we think it is), if the counts differ, or if a label is outside [0, num_classes).
Dataset read_idx(const std::string& images_path, const std::string& labels_path,
                 int num_classes = 10);

}  // namespace kbnn
