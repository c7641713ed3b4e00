#include "uq/regression_ood.hpp"

#include <cmath>

namespace kbnn {

const char* ood_score_name(RegressionOodScore score) {
  return score == RegressionOodScore::predictive_std ? "predictive_std" : "epistemic_std";
}

const char* ood_score_units(RegressionOodScore) { return "training target std"; }

const char* ood_score_description(RegressionOodScore score) {
  return score == RegressionOodScore::predictive_std
             ? "sqrt(mean over targets of the predictive variance / the training targets' "
               "variance)"
             : "sqrt(mean over targets of the epistemic variance / the training targets' "
               "variance)";
}

RegressionOodScores regression_ood_scores_of(const RegressionPredictions& p,
                                             const Standardization& s) {
  RegressionOodScores scores;
  for (auto& score : scores) score.assign(std::size_t(p.count), 0.0f);
  for (std::int64_t i = 0; i < p.count; ++i) {
    double total = 0, epistemic = 0;
    for (int t = 0; t < p.targets; ++t) {
      const std::size_t at = std::size_t(i) * p.targets + t;
      const double scale = target_scale(s, t), square = scale * scale;
      total += double(p.std[at]) * p.std[at] / square;
      epistemic += p.epistemic[at] / square;
    }
    scores[std::size_t(RegressionOodScore::predictive_std)][i] = float(std::sqrt(total / p.targets));
    scores[std::size_t(RegressionOodScore::epistemic_std)][i] =
        float(std::sqrt(epistemic / p.targets));
  }
  return scores;
}

RegressionOodMetrics regression_ood_metrics(const RegressionOodScores& in,
                                            const RegressionOodScores& out) {
  RegressionOodMetrics m;
  m.in_count = std::int64_t(in[0].size());
  m.out_count = std::int64_t(out[0].size());
  for (std::size_t k = 0; k < regression_ood_scores.size(); ++k)
    m.by_score[k] = separation(in[k], out[k]);
  return m;
}

}  // namespace kbnn
