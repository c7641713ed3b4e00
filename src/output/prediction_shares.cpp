#include "output/prediction_shares.hpp"

#include <algorithm>
#include <utility>

#include "core/error.hpp"

namespace kbnn {
namespace {

// The rows with data, as (first, count) in row order, must tile [0, total) exactly.
void check_tiling(std::vector<std::pair<std::int64_t, std::int64_t>> ranges, std::int64_t total,
                  const std::string& where) {
  std::sort(ranges.begin(), ranges.end());
  std::int64_t next = 0;
  for (const auto& [first, count] : ranges) {
    if (first != next)
      throw RuntimeError(concat(where, ": the ranks' rows do not tile [0, ", total,
                                "): expected a range starting at ", next, ", got [", first,
                                ", ", first + count, ")"));
    next = first + count;
  }
  if (next != total)
    throw RuntimeError(concat(where, ": the ranks hold ", next, " rows, total is ", total));
}

}  // namespace

namespace {

// A share's rows and widths; sizes_ok is the caller's check of its columns.
PredictionShare share_header(std::int64_t first_row, std::int64_t count, std::int64_t width,
                             std::int64_t total, int samples) {
  PredictionShare s;
  s.first = first_row;
  s.count = count;
  s.classes = width;
  s.total = total;
  s.samples = samples;
  return s;
}

template <class Values>
bool holds(const Values& values, std::int64_t size) {
  return std::int64_t(values.size()) == size;
}

}  // namespace

PredictionShare share_of(const Predictions& p, std::int64_t first_row, std::int64_t total) {
  const std::int64_t n = p.count, k = p.classes;
  PredictionShare s = share_header(first_row, n, k, total, p.samples);
  s.sizes_ok = n >= 0 && holds(p.probs_mean, n * k) && holds(p.predicted, n) &&
               holds(p.label, n) && holds(p.predictive_entropy, n) &&
               holds(p.aleatoric, n) && holds(p.epistemic, n);
  return s;
}

PredictionShare share_of(const RegressionPredictions& p, std::int64_t first_row, std::int64_t total) {
  const std::int64_t n = p.count, k = p.targets;
  PredictionShare s = share_header(first_row, n, k, total, p.samples);
  s.sizes_ok = n >= 0 && holds(p.mean, n * k) && holds(p.std, n * k) &&
               holds(p.aleatoric, n * k) && holds(p.epistemic, n * k) &&
               holds(p.target, n * k) && holds(p.nll, n);
  return s;
}

std::int64_t check_prediction_shares(const std::vector<PredictionShare>& shares,
                                     const std::string& where) {
  const PredictionShare& root = shares.at(0);  // every rank compares with the same one
  std::int64_t classes = 0;
  std::vector<std::pair<std::int64_t, std::int64_t>> ranges;  // (first, count) per rank
  for (std::size_t r = 0; r < shares.size(); ++r) {
    const PredictionShare& s = shares[r];
    if (!s.sizes_ok)
      throw RuntimeError(concat(where, ": rank ", r, "'s Predictions hold arrays whose "
                                "sizes disagree with count = ", s.count, " and classes = ",
                                s.classes));
    if (s.total != root.total || s.samples != root.samples)
      throw RuntimeError(concat(where, ": ranks disagree on total rows (", s.total, " vs ",
                                root.total, ") or samples (", s.samples, " vs ",
                                root.samples, ")"));
    if (s.count == 0) continue;
    if (classes != 0 && s.classes != classes)
      throw RuntimeError(concat(where, ": ranks disagree on classes: ", classes, " and ",
                                s.classes, " (rank ", r, ")"));
    classes = s.classes;
    ranges.emplace_back(s.first, s.count);
  }
  check_tiling(std::move(ranges), root.total, where);
  if (classes <= 0 && root.total > 0)
    throw RuntimeError(concat(where, ": classes must be > 0, got ", classes));
  return classes;
}

}  // namespace kbnn
