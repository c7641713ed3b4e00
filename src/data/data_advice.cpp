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
  for (std::int64_t i = in.first; i < in.first + in.count; ++i)
    if (in.rows->labels[std::size_t(i)] >= 0) mine = std::min(mine, in.rows->labels[std::size_t(i)]);
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

// The first column far from unit scale, described, or "" if none is.
std::string far_column(const std::vector<float>& values, std::int64_t width, const AdviceInput& in,
                       const Communicator& comm, const std::string& what) {
  if (width == 0) return "";
  const ColumnMoments m =
      column_moments(values.data() + in.first * width, in.count, width, in.total, comm);
  // column_moments gives a constant column a deviation of 1: only its mean is named.
  for (std::size_t c = 0; c < m.mean.size(); ++c) {
    if (std::abs(m.mean[c]) > kFar) return concat(what, " ", c, " has mean ", m.mean[c]);
    if (m.std[c] > kFar)
      return concat(what, " ", c, " has standard deviation ", m.std[c]);
  }
  return "";
}

}  // namespace

std::vector<std::string> data_advice(const AdviceInput& in, const Communicator& comm) {
  if (in.rows == nullptr || in.total < 1) throw RuntimeError("data_advice: no training rows");
  std::vector<std::string> lines;
  const Dataset& d = *in.rows;
  if (d.target_dim == 0 && d.labeled && !d.labels.empty())
    if (std::string line = labels_advice(in, comm); !line.empty()) lines.push_back(line);
  if (in.standardized) return lines;
  const std::string fix = "; set data.standardize = true (predictions and metrics stay in the "
                          "data's own units)";
  if (d.target_dim > 0 && d.labeled) {
    const std::string far = far_column(d.targets, d.target_dim, in, comm, "target");
    if (!far.empty())
      lines.push_back(concat("data: warning: ", far, " while data.standardize = false: the "
                             "network starts with outputs near 0 and a noise variance near 1, "
                             "and may not reach them", fix));
  }
  if (d.float_features) {
    const bool image = d.height * d.width > 1;
    const std::string far = far_column(d.values, d.features(), in, comm,
                                       image ? "feature (HWC order)" : "feature");
    if (!far.empty())
      lines.push_back(concat("data: warning: ", far, " while data.standardize = "
                             "false: features far from unit scale train slowly and drown the "
                             "others", fix));
  }
  return lines;
}

}  // namespace kbnn
