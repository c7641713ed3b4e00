// Standardization (data.standardize): every feature, and every real target, shifted by
// the training rows' mean and scaled by their standard deviation (population, as
// scikit-learn's StandardScaler), computed over all ranks' rows. The run file and the
// checkpoint keep the numbers, so `kbnn predict` applies the training set's, and
// regression metrics are reported back in the targets' own units.
//
// The sums are exact: each value becomes an integer multiple of 2^-e (e chosen from the
// column's largest magnitude and the row count so that no int64 sum can overflow), and
// integers add in any order to the same total. So the mean and standard deviation are
// bit-identical on any rank count and any split of the rows, which a float or double
// allreduce would not be (its order of additions changes with the ranks).
#pragma once

#include "data/dataset.hpp"
#include "parallel/communicator.hpp"

#include <cstdint>
#include <vector>

namespace kbnn {

struct Standardization {
  std::vector<double> feature_mean, feature_std;  // (features), or empty: not standardized
  std::vector<double> target_mean, target_std;    // (targets), or empty
  bool empty() const { return feature_mean.empty() && target_mean.empty(); }
};

// Mean and standard deviation of each column of the (rows, width) row-major values of
// every rank (total >= 1): each rank passes its share (every row of the set counted on exactly one
// rank), `total` rows in all. Collective. A constant column gets a deviation of 1.
struct ColumnMoments {
  std::vector<double> mean, std;
};
ColumnMoments column_moments(const float* values, std::int64_t rows, std::int64_t width,
                             std::int64_t total, const Communicator& comm);

// The moments of the training rows [first, first + count) of `rows` (this rank's share of
// `total`): its features (uint8 pixels as pixel / 255), and its real targets if
// `targets` (else none). Collective.
Standardization fit_standardization(const Dataset& rows, std::int64_t first, std::int64_t count,
                                    std::int64_t total, bool targets, const Communicator& comm);

// d's features, as floats, (x - mean) / std, and its targets likewise, where s has
// numbers for them. uint8 pixels become float features (pixel / 255) first.
void standardize(Dataset& d, const Standardization& s);

// What standardize did to targets, undone: t * std + mean (target t of a row).
double target_value(const Standardization& s, int t, double standardized);
// The standard deviation targets were divided by (1 without target standardization).
double target_scale(const Standardization& s, int t);

}  // namespace kbnn
