// Data sets in HDF5, for data too large for IDX or CIFAR-10 binaries or kept as floats:
// each rank reads only the rows it needs, by hyperslab. Dimension 0 of both datasets
// is the example; the names come from the deck (data.features, data.targets).
//   features      any integer or float type, (N, ...): an example of any shape.
//                 uint8 stays bytes (pixels, scaled by 1/255 when batched); any other
//                 type is read as float32. An example of shape () or (F) is a vector
//                 of F features (1 x 1 x F), (H, W) an image of one channel, (a, b, c)
//                 an image HWC or CHW (the dataset's `layout` attribute, "HWC" or
//                 "CHW", or data.layout; CHW is turned into HWC as it is read), and one
//                 of 4 or more dimensions a vector of all its numbers. With data.layout
//                 = signal, (L) is a signal 1 x L x 1 and (L, C) one of 1 x L x C
//                 (channels last); other shapes are refused.
//   targets       classification: integers (N), each in [0, num_classes);
//                 regression (real_targets): any numeric type, (N) or (N, ...): the
//                 product of the trailing extents is the number of targets T.
//   num_classes   optional: root attribute or scalar dataset; default the count of
//                 class_names, else max label + 1 (only a training set's counts: it is
//                 the model's, and the labels of the sets evaluated against the model
//                 need only lie below it)
//   class_names   optional root attribute, strings (scripts/csv_to_h5.py --labels): the
//                 name of class 0, 1, ...; one per class (num_classes, if stored)
// A set read with labels_optional (an OOD set, whose labels are never used, or new data
// to predict) may lack the targets dataset: Dataset::labeled is then false, and its
// labels -1 (classification) or its real targets none (target_dim 0).
#pragma once

#include <cstdint>
#include <string>

#include "core/choices.hpp"
#include "data/dataset.hpp"
#include "parallel/communicator.hpp"

namespace kbnn {

// Which datasets of the file hold what (data.features, data.targets, data.layout),
// and whether the targets are real values (a Gaussian likelihood) or class labels.
struct Hdf5Fields {
  std::string features = "images";
  std::string targets = "labels";
  DataLayout layout = DataLayout::file;
  bool real_targets = false;
  bool labels_optional = false;  // labels or targets that may be missing (new data, OOD)
};

// Rows [first, first + count) of the set in `path` (count = -1: to the end). Each rank
// reads its own rows independently, but the call is collective in one respect: if it
// fails on any rank, it throws on every rank (the first failing rank's InputError,
// naming the file and dataset), so no rank goes on alone. Without num_classes in the
// file every rank reads all labels (4 bytes each) to find the global maximum: a
// slice's maximum would differ between ranks.
Dataset read_hdf5_dataset(const std::string& path, const Communicator& comm, std::int64_t first = 0,
                          std::int64_t count = -1, const Hdf5Fields& fields = {});

// The number of examples in the set at `path` (the length of the targets); collective
// in the same way. A file of none is refused (InputError naming it and the dataset).
std::int64_t hdf5_dataset_size(const std::string& path, const Communicator& comm,
                               const Hdf5Fields& fields = {});

}  // namespace kbnn
