// Out-of-distribution scores of a regression's predictive (uq/regression_predictive.hpp),
// higher = less like the training data, in units of the training targets' standard
// deviations (so that targets in different units pool; 1 per unit without
// standardization):
//   predictive_std   sqrt(mean_t (aleatoric_t + epistemic_t) / std_t^2)
//   epistemic_std    sqrt(mean_t epistemic_t / std_t^2)   what more data would fix
// Their separation of an OOD set from the test set is AUROC and AUPR as for classes
// (uq/ood.hpp).
#pragma once

#include "data/standardize.hpp"
#include "uq/ood.hpp"
#include "uq/regression_predictive.hpp"

#include <array>
#include <cstdint>
#include <vector>

namespace kbnn {

enum class RegressionOodScore { predictive_std, epistemic_std };
constexpr std::array<RegressionOodScore, 2> regression_ood_scores = {
    RegressionOodScore::predictive_std, RegressionOodScore::epistemic_std};

const char* ood_score_name(RegressionOodScore score);
const char* ood_score_units(RegressionOodScore score);
const char* ood_score_description(RegressionOodScore score);

// Each score of every row, indexed by std::size_t(score).
using RegressionOodScores = std::array<std::vector<float>, regression_ood_scores.size()>;
RegressionOodScores regression_ood_scores_of(const RegressionPredictions& p, const Standardization& s);

struct RegressionOodMetrics {
  std::int64_t in_count = 0, out_count = 0;
  std::array<OodSeparation, regression_ood_scores.size()> by_score{};
};
// From ALL rows of both sets (gather them first: uq/evaluate.hpp,
// gather_regression_ood_scores).
RegressionOodMetrics regression_ood_metrics(const RegressionOodScores& in,
                                            const RegressionOodScores& out);

}  // namespace kbnn
