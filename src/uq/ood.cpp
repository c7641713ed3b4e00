#include "uq/ood.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <utility>

namespace kbnn {

const char* ood_score_name(OodScore score) {
  switch (score) {
    case OodScore::entropy: return "entropy";
    case OodScore::mutual_information: return "mutual_information";
    case OodScore::max_probability: return "max_probability";
  }
  return "?";
}

const char* ood_score_units(OodScore score) {
  return score == OodScore::max_probability ? "1" : "nats";
}

const char* ood_score_description(OodScore score) {
  switch (score) {
    case OodScore::entropy:
      return "predictive entropy H[pbar], pbar the mean of the untempered passes p_s";
    case OodScore::mutual_information:
      return "mutual information (epistemic): H[pbar] - mean_s H[p_s], untempered passes p_s";
    case OodScore::max_probability: return "1 - max_k probs_mean";
  }
  return "?";
}

std::vector<float> ood_score(const Predictions& p, OodScore score) {
  std::vector<float> s(std::size_t(p.count));
  for (std::int64_t i = 0; i < p.count; ++i) {
    if (score == OodScore::entropy) {
      s[i] = p.predictive_entropy[i];
    } else if (score == OodScore::mutual_information) {
      s[i] = p.epistemic[i];
    } else {
      const float* row = &p.probs_mean[i * p.classes];
      s[i] = 1.0f - *std::max_element(row, row + p.classes);
    }
  }
  return s;
}

namespace {

constexpr double not_a_number = std::numeric_limits<double>::quiet_NaN();

// (score, is positive) of both sets, highest score first.
std::vector<std::pair<float, bool>> ranked(const std::vector<float>& positives,
                                           const std::vector<float>& negatives) {
  std::vector<std::pair<float, bool>> all;
  all.reserve(positives.size() + negatives.size());
  for (float s : positives) all.emplace_back(s, true);
  for (float s : negatives) all.emplace_back(s, false);
  std::sort(all.begin(), all.end(),
            [](const auto& a, const auto& b) { return a.first > b.first; });
  return all;
}

}  // namespace

double auroc(const std::vector<float>& positives, const std::vector<float>& negatives) {
  if (positives.empty() || negatives.empty()) return not_a_number;
  const auto all = ranked(positives, negatives);
  // Walk the tie groups from the top: a positive beats every negative below its group
  // and ties with the negatives in it (counted 1/2).
  const double n_neg = double(negatives.size());
  double negatives_above = 0, wins = 0;
  for (std::size_t begin = 0; begin < all.size();) {
    std::size_t end = begin;
    double pos = 0, neg = 0;
    for (; end < all.size() && all[end].first == all[begin].first; ++end)
      (all[end].second ? pos : neg) += 1;
    wins += pos * (n_neg - negatives_above - neg + 0.5 * neg);
    negatives_above += neg;
    begin = end;
  }
  return wins / (double(positives.size()) * n_neg);
}

double average_precision(const std::vector<float>& positives, const std::vector<float>& negatives) {
  if (positives.empty()) return not_a_number;
  const auto all = ranked(positives, negatives);
  double true_pos = 0, false_pos = 0, area = 0;
  for (std::size_t begin = 0; begin < all.size();) {
    std::size_t end = begin;
    double pos = 0;
    for (; end < all.size() && all[end].first == all[begin].first; ++end) {
      pos += all[end].second;
      false_pos += !all[end].second;
    }
    true_pos += pos;
    area += pos / double(positives.size()) * (true_pos / (true_pos + false_pos));
    begin = end;
  }
  return area;
}

OodScores ood_scores_of(const Predictions& predictions) {
  OodScores all;
  for (const OodScore score : ood_scores) all[score] = ood_score(predictions, score);
  return all;
}

OodSeparation separation(const std::vector<float>& in, const std::vector<float>& out) {
  const auto negated = [](std::vector<float> v) {
    for (float& x : v) x = -x;
    return v;
  };
  OodSeparation s;
  s.auroc = auroc(out, in);
  s.aupr_out = average_precision(out, in);
  s.aupr_in = average_precision(negated(in), negated(out));
  return s;
}

OodMetrics ood_metrics(const OodScores& in_scores, const OodScores& out_scores) {
  OodMetrics m;
  m.in_count = std::int64_t(in_scores[OodScore::entropy].size());
  m.out_count = std::int64_t(out_scores[OodScore::entropy].size());
  for (const OodScore score : ood_scores)
    m.by_score[score] = separation(in_scores[score], out_scores[score]);
  return m;
}

}  // namespace kbnn
