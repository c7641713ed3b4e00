#include "data/data_advice.hpp"

#include "core/error.hpp"
#include "data/standardize.hpp"

#include <algorithm>
#include <climits>
#include <cmath>

namespace kbnn {

namespace {

// Columns whose mean or spread exceeds this are "far from unit scale": standardized
// data has 0 and 1, and Adam's steps of about lr and the N(0, 0.1^2) initial weights
// assume numbers of about that size. (Small spreads are left alone: float images in
// [0, 1] have border pixels of almost none, and such columns merely contribute little.)
constexpr double kFar = 10;

// The smallest label over all ranks' counted rows (INT_MAX where there are none).
int smallest_label(const AdviceInput& in, const Communicator& comm) {
  int mine = INT_MAX;
  for (std::int64_t i = in.first; i < in.first + in.count; ++i) {
    const int label = in.rows->labels[std::size_t(i)];
    if (label >= 0) mine = std::min(mine, label);
  }
  const std::vector<int> all = comm.allgather(mine);
  return *std::min_element(all.begin(), all.end());
}

std::string labels_advice(const AdviceInput& in, const Communicator& comm) {
  const int lowest = smallest_label(in, comm);
  if (lowest <= 0 || lowest == INT_MAX) return "";
  const std::string unseen = lowest == 1 ? "class 0, never seen, still gets an output"
                                         : concat("classes 0 .. ", lowest - 1,
                                                  ", never seen, still get outputs");
  return concat("data: warning: no training example has label 0 (the smallest is ", lowest,
                "): classes count from 0, and ", unseen, " of the model; labels numbered "
                "1..K need 1 subtracted (scripts/csv_to_h5.py --labels numbers any classes "
                "0..K-1)");
}

// What the advice says of a set of columns: the first one far from unit scale, and the
// first one whose spread float32 barely resolves ("" where none is).
struct ColumnNotes {
  std::string far, coarse;
};

// float32, kbnn's working precision, resolves about 6e-8 of a number: a column whose
// spread is below this fraction of its mean keeps fewer than ~170 distinct values per
// standard deviation once read (timestamps of 1.7e9 s vary in steps of 128 s).
constexpr double kCoarse = 1e-5;

ColumnNotes column_notes(const std::vector<double>& means, const std::vector<double>& stds,
                         const std::string& what, const std::string& order = "") {
  ColumnNotes notes;
  // column_moments gives a constant column a deviation of 1: only its mean is named.
  for (std::size_t c = 0; c < means.size(); ++c) {
    const double mean = means[c], std = stds[c];
    if (notes.far.empty() && std::abs(mean) > kFar)
      notes.far = concat(what, " ", c, order, " has mean ", mean);
    else if (notes.far.empty() && std > kFar)
      notes.far = concat(what, " ", c, order, " has standard deviation ", std);
    if (notes.coarse.empty() && std < kCoarse * std::abs(mean))
      notes.coarse = concat("data: warning: ", what, " ", c, order,
                            " varies little for its size (mean ", mean, ", standard deviation ",
                            std, ", or constant), below what "
                            "float32, kbnn's precision, resolves (7 digits): subtract an "
                            "offset (e.g. its first value) before writing the file");
  }
  return notes;
}

}  // namespace

std::vector<std::string> data_advice(const AdviceInput& in, const Communicator& comm) {
  if (in.rows == nullptr || in.moments == nullptr || in.total < 1)
    throw RuntimeError("data_advice: no training rows or no moments");
  std::vector<std::string> lines;
  const Standardization& m = *in.moments;
  const Dataset& d = *in.rows;
  if (d.target_dim == 0 && d.labeled && !d.labels.empty())
    if (std::string line = labels_advice(in, comm); !line.empty()) lines.push_back(line);
  const std::string fix = "; set data.standardize = true (predictions and metrics stay in the "
                          "data's own units)";
  if (d.target_dim > 0 && d.labeled) {
    const ColumnNotes notes = column_notes(m.target_mean, m.target_std, "target");
    if (!notes.coarse.empty()) lines.push_back(notes.coarse);
    if (!in.standardized && !notes.far.empty())
      lines.push_back(concat("data: warning: ", notes.far, " while data.standardize = false: "
                             "the network starts with outputs near 0 and a noise variance near "
                             "1, and may not reach them", fix));
  }
  if (d.float_features) {
    const bool image = d.height * d.width > 1;
    const ColumnNotes notes =
        column_notes(m.feature_mean, m.feature_std, "feature", image ? " (HWC order)" : "");
    if (!notes.coarse.empty()) lines.push_back(notes.coarse);
    if (!in.standardized && !notes.far.empty())
      lines.push_back(concat("data: warning: ", notes.far, " while data.standardize = false: "
                             "features far from unit scale train slowly and drown the others",
                             fix));
  }
  // uint8 features are pixels to kbnn, scaled by 1/255 into [0, 1]: a table's byte
  // columns (counts 0..16 in sklearn's digits) shrink to a few hundredths and train
  // slowly (digits: accuracy 0.53 against 0.90 standardized).
  if (!d.float_features && d.height * d.width == 1 && !in.standardized)
    lines.push_back(concat("data: warning: the ", d.channels, " features are uint8, which kbnn "
                           "reads as pixels and scales by 1/255, while data.standardize = false",
                           fix));
  return lines;
}

}  // namespace kbnn
