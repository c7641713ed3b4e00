// Out-of-distribution (OOD) detection from the Monte-Carlo predictive: each example
// gets a score, higher meaning "less like the training data", and how well a score
// separates an in-distribution set from an OOD set is summarised by AUROC and AUPR
// (docs/design.md, "Out-of-distribution scores").
//   entropy             H[p], the predictive entropy (total uncertainty)
//   mutual_information  H[p] - (1/S) sum_s H[p_s], the epistemic part
//   max_probability     1 - max_k p_k (Hendrycks & Gimpel 2017's baseline)
#pragma once

#include "uq/predictive.hpp"

#include <array>
#include <vector>

namespace kbnn {

enum class OodScore { entropy, mutual_information, max_probability };
// Every score, in the order of the output files and logs.
constexpr std::array<OodScore, 3> ood_scores = {OodScore::entropy, OodScore::mutual_information,
                                                OodScore::max_probability};

// One T per score, read by the score's name (`by_score[OodScore::entropy]`, never by a
// bare position) and visited with `for (OodScore s : ood_scores)` or a range-for over
// the values, both in ood_scores order.
template <class T>
struct PerOodScore : std::array<T, ood_scores.size()> {
  using Values = std::array<T, ood_scores.size()>;
  T& operator[](OodScore score) { return Values::operator[](std::size_t(score)); }
  const T& operator[](OodScore score) const { return Values::operator[](std::size_t(score)); }
};
// A score's position in ood_scores is its value, as PerOodScore assumes.
static_assert(std::size_t(ood_scores[0]) == 0 && std::size_t(ood_scores[1]) == 1 &&
              std::size_t(ood_scores[2]) == 2);
// "entropy", "mutual_information", "max_probability": the names in the output file.
const char* ood_score_name(OodScore score);
// The score's units ("nats" or "1") and a one-line definition, for the output file.
const char* ood_score_units(OodScore score);
const char* ood_score_description(OodScore score);

// The score of every row of `predictions` (count), higher = more likely OOD.
std::vector<float> ood_score(const Predictions& predictions, OodScore score);

// Area under the ROC curve of telling `positives` (OOD) from `negatives` (in-
// distribution) by thresholding the score: the probability that a random positive
// scores higher than a random negative, ties counting 1/2 (Mann-Whitney U / (n+ n-),
// from mid-ranks). NaN if either set is empty.
double auroc(const std::vector<float>& positives, const std::vector<float>& negatives);

// Area under the precision-recall curve of finding `positives` among both sets, as
// average precision: sum over distinct thresholds t (descending) of
// (recall(t) - recall(previous t)) * precision(t). Examples with equal scores enter
// together at one threshold (no interpolation), as scikit-learn's
// average_precision_score. NaN if `positives` is empty.
double average_precision(const std::vector<float>& positives, const std::vector<float>& negatives);

// One score's separation of an in-distribution set from an OOD set.
struct OodSeparation {
  double auroc = 0;
  double aupr_out = 0;  // OOD examples are the positives, ranked by the score
  double aupr_in = 0;   // in-distribution examples are the positives, ranked by -score
};

// How one score separates `out` (OOD, the positives) from `in`: AUROC, and AUPR with
// either set positive.
OodSeparation separation(const std::vector<float>& in, const std::vector<float>& out);

struct OodMetrics {
  std::int64_t in_count = 0, out_count = 0;
  PerOodScore<OodSeparation> by_score{};
};

// Each score of every row of a set, in row order.
using OodScores = PerOodScore<std::vector<float>>;

// The scores of every row of `predictions`.
OodScores ood_scores_of(const Predictions& predictions);

// How well each score tells the OOD set from the in-distribution set, from ALL rows
// of both (gather them first: uq/evaluate.hpp).
OodMetrics ood_metrics(const OodScores& in, const OodScores& out);

}  // namespace kbnn
