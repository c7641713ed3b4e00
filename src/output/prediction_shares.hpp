// A prediction set is written by all ranks at once, each its own rows (its share).
// Before the collective write every rank gathers what each holds and runs the same
// checks on it, so that bad input throws the same error on every rank instead of one
// rank leaving the others waiting in a collective call (RunFile::write_predictions).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "uq/predictive.hpp"
#include "uq/regression_predictive.hpp"

namespace kbnn {

// What one rank holds of a prediction set: a plain struct, gathered as bytes.
struct PredictionShare {
  std::int64_t first = 0;    // the global row of its first row
  std::int64_t count = 0;    // its rows
  std::int64_t classes = 0;
  std::int64_t total = 0;    // the set's rows, as this rank was told
  std::int64_t samples = 0;  // Monte-Carlo passes, as this rank was told
  bool sizes_ok = false;     // its arrays hold count (times classes) values each
};

PredictionShare share_of(const Predictions& p, std::int64_t first_row, std::int64_t total);
// A regression's share: its targets per example in place of classes.
PredictionShare share_of(const RegressionPredictions& p, std::int64_t first_row, std::int64_t total);

// The set's classes, once the shares (one per rank, in rank order) pass every check:
// each rank's arrays match its count and classes; all agree on total and samples, and
// those with rows on classes (> 0 when total > 0); the rows tile [0, total). Throws a
// RuntimeError naming `where` (and the rank, where one is to blame) otherwise.
std::int64_t check_prediction_shares(const std::vector<PredictionShare>& shares,
                                     const std::string& where);

}  // namespace kbnn
