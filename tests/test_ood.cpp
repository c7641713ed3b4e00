// OOD detection: AUROC and average precision against hand-computed cases (ties
// included) and a brute-force pair count, the scores from predictions, the synthetic
// shifts, and the [ood] deck options.
#include "catch.hpp"

#include "app/deck.hpp"
#include "core/error.hpp"
#include "data/shift.hpp"
#include "uq/ood.hpp"

#include <cmath>
#include <random>

namespace {

// P(positive > negative) + 1/2 P(equal), by counting every pair: the definition.
double auroc_by_pairs(const std::vector<float>& pos, const std::vector<float>& neg) {
  double wins = 0;
  for (float p : pos)
    for (float n : neg) wins += p > n ? 1.0 : p == n ? 0.5 : 0.0;
  return wins / (double(pos.size()) * double(neg.size()));
}

kbnn::Dataset image_set(int count, int height, int width, int channels) {
  kbnn::Dataset d;
  d.source = "synthetic";
  d.count = count;
  d.height = height;
  d.width = width;
  d.channels = channels;
  d.num_classes = 10;
  d.pixels.resize(std::size_t(d.count * d.features()));
  for (std::size_t i = 0; i < d.pixels.size(); ++i) d.pixels[i] = std::uint8_t((i * 37 + 11) % 256);
  for (int i = 0; i < count; ++i) d.labels.push_back(i % 10);
  return d;
}

}  // namespace

TEST_CASE("AUROC and average precision of hand-computed cases", "[ood]") {
  using kbnn::auroc;
  using kbnn::average_precision;
  // scikit-learn's documented example: y = [0, 0, 1, 1], scores [0.1, 0.4, 0.35, 0.8]
  // -> roc_auc 0.75, average precision 0.8333 (1/2 * 1 + 1/2 * 2/3).
  CHECK(auroc({0.35f, 0.8f}, {0.1f, 0.4f}) == Approx(0.75).epsilon(1e-15));
  CHECK(average_precision({0.35f, 0.8f}, {0.1f, 0.4f}) == Approx(5.0 / 6.0).epsilon(1e-15));
  // Perfect separation, and its reverse.
  CHECK(auroc({0.4f, 0.5f}, {0.1f, 0.2f, 0.3f}) == 1.0);
  CHECK(average_precision({0.4f, 0.5f}, {0.1f, 0.2f, 0.3f}) == 1.0);
  CHECK(auroc({0.1f, 0.2f}, {0.4f, 0.5f, 0.3f}) == 0.0);
  // Reverse order: positives enter at ranks 4 and 5 of 5: AP = 1/2 * 1/4 + 1/2 * 2/5.
  CHECK(average_precision({0.1f, 0.2f}, {0.4f, 0.5f, 0.3f}) == Approx(0.325).epsilon(1e-15));
}

TEST_CASE("Tied scores count one half in AUROC and enter together in average precision",
          "[ood]") {
  using kbnn::auroc;
  using kbnn::average_precision;
  // Everything tied: AUROC 1/2, and one threshold with precision 2/4.
  CHECK(auroc({1.f, 1.f}, {1.f, 1.f}) == 0.5);
  CHECK(average_precision({1.f, 1.f}, {1.f, 1.f}) == 0.5);
  // pos {0.5, 0.9}, neg {0.5, 0.2}: pairs 0.5=0.5 (1/2), 0.5>0.2, 0.9>0.5, 0.9>0.2 -> 3.5/4.
  // Thresholds 0.9 (tp 1, fp 0), 0.5 (tp 2, fp 1): AP = 1/2 * 1 + 1/2 * 2/3.
  CHECK(auroc({0.5f, 0.9f}, {0.5f, 0.2f}) == Approx(0.875).epsilon(1e-15));
  CHECK(average_precision({0.5f, 0.9f}, {0.5f, 0.2f}) == Approx(5.0 / 6.0).epsilon(1e-15));
  // A tie group straddling the positives: pos {0.3, 0.3, 0.7}, neg {0.3, 0.1}:
  // 0.7 beats both; each 0.3 ties one and beats one (3/2 each): (2 + 1.5 + 1.5) / 6.
  CHECK(auroc({0.3f, 0.3f, 0.7f}, {0.3f, 0.1f}) == Approx(5.0 / 6.0).epsilon(1e-15));
  // Thresholds 0.7 (tp 1, fp 0), 0.3 (tp 3, fp 1): AP = 1/3 * 1 + 2/3 * 3/4.
  CHECK(average_precision({0.3f, 0.3f, 0.7f}, {0.3f, 0.1f}) ==
        Approx(1.0 / 3 + 0.5).epsilon(1e-15));
  // Empty sets have no curve.
  CHECK(std::isnan(auroc({}, {0.1f})));
  CHECK(std::isnan(auroc({0.1f}, {})));
  CHECK(std::isnan(average_precision({}, {0.1f})));
}

TEST_CASE("AUROC equals the pair count on random scores with many ties", "[ood]") {
  std::mt19937 generator(7);
  std::uniform_int_distribution<int> level(0, 9);  // 10 distinct values: ties everywhere
  for (int trial = 0; trial < 5; ++trial) {
    std::vector<float> pos(137), neg(211);
    for (float& s : pos) s = float(level(generator) + (trial % 2 ? 2 : 0)) / 10.f;
    for (float& s : neg) s = float(level(generator)) / 10.f;
    CHECK(kbnn::auroc(pos, neg) == Approx(auroc_by_pairs(pos, neg)).epsilon(1e-12));
    // Swapping the classes mirrors the curve.
    CHECK(kbnn::auroc(neg, pos) == Approx(1.0 - auroc_by_pairs(pos, neg)).epsilon(1e-12));
  }
}

TEST_CASE("OOD scores come from the predictions, and metrics rank the OOD set", "[ood]") {
  kbnn::Predictions p;
  p.count = 2;
  p.classes = 3;
  p.probs_mean = {0.7f, 0.2f, 0.1f, 0.3f, 0.3f, 0.4f};
  p.predictive_entropy = {0.8f, 1.09f};
  p.epistemic = {0.05f, 0.2f};
  CHECK(kbnn::ood_score(p, kbnn::OodScore::entropy) == std::vector<float>{0.8f, 1.09f});
  CHECK(kbnn::ood_score(p, kbnn::OodScore::mutual_information) == std::vector<float>{0.05f, 0.2f});
  const auto max_prob = kbnn::ood_score(p, kbnn::OodScore::max_probability);
  CHECK(max_prob[0] == Approx(0.3f));
  CHECK(max_prob[1] == Approx(0.6f));

  // In-distribution {0.1, 0.2} against OOD {0.2, 0.9} for every score: AUROC
  // (1/2 + 1 + 1 + 1) / 4; AUPR-out 1/2 * 1 + 1/2 * 2/3; AUPR-in ranks by -score:
  // thresholds -0.1 (in), -0.2 (in + out): 1/2 * 1 + 1/2 * 2/3.
  kbnn::OodScores in, out;
  for (auto& s : in) s = {0.1f, 0.2f};
  for (auto& s : out) s = {0.2f, 0.9f};
  const kbnn::OodMetrics m = kbnn::ood_metrics(in, out);
  CHECK(m.in_count == 2);
  CHECK(m.out_count == 2);
  for (const auto& s : m.by_score) {
    CHECK(s.auroc == Approx(0.875));
    CHECK(s.aupr_out == Approx(5.0 / 6.0));
    CHECK(s.aupr_in == Approx(5.0 / 6.0));
  }
}

TEST_CASE("Synthetic shifts by hand; noise keyed by the global row, without real targets",
          "[ood]") {
  using kbnn::DataShift;
  const kbnn::Dataset d = image_set(6, 3, 3, 2);
  const kbnn::Dataset inverted = kbnn::shifted(d, DataShift::invert, 1);
  for (std::size_t i = 0; i < d.pixels.size(); ++i) CHECK(inverted.pixels[i] == 255 - d.pixels[i]);
  CHECK(inverted.labels == d.labels);

  // Counter-clockwise: the top-right pixel goes to the top-left, and so on.
  kbnn::Dataset one = image_set(1, 3, 3, 1);
  one.pixels = {1, 2, 3,
                4, 5, 6,
                7, 8, 9};
  CHECK(kbnn::shifted(one, DataShift::rot90, 0).pixels ==
        std::vector<std::uint8_t>{3, 6, 9,
                                  2, 5, 8,
                                  1, 4, 7});
  kbnn::Dataset turned = d;
  for (int i = 0; i < 4; ++i) turned = kbnn::shifted(turned, DataShift::rot90, 0);
  CHECK(turned.pixels == d.pixels);  // channels stay with their pixel
  CHECK(kbnn::shifted(d, DataShift::rot90, 0).pixels != d.pixels);
  REQUIRE_THROWS_WITH(kbnn::shifted(image_set(1, 2, 3, 1), DataShift::rot90, 0),
                      kbnn::test::contains("rot90 needs square images, got 2x3"));

  // Noise: a rank's shard gets the rows the whole set gets; another seed, other noise.
  const kbnn::Dataset noise = kbnn::shifted(d, DataShift::noise, 5);
  const kbnn::Dataset shard = kbnn::shifted(kbnn::slice(d, 2, 3), DataShift::noise, 5, 2);
  CHECK(shard.pixels == kbnn::slice(noise, 2, 3).pixels);
  CHECK(kbnn::shifted(d, DataShift::noise, 6).pixels != noise.pixels);
  CHECK(noise.pixels != d.pixels);
  // The noise keeps each image's mean brightness (to within the sampling error).
  const std::int64_t f = d.features();
  for (int i = 0; i < d.count; ++i) {
    double before = 0, after = 0;
    for (std::int64_t k = 0; k < f; ++k) {
      before += d.pixels[i * f + k];
      after += noise.pixels[i * f + k];
    }
    CHECK(std::abs(after - before) / f < 60);
  }
  CHECK(noise.labels == d.labels);  // no metric reads them

  // A regression's noise holds nothing its targets measured: a set without targets
  // (NaN), predicted and not scored; invert and rot90 keep them.
  kbnn::Dataset real = d;
  real.target_dim = 2;
  real.targets.assign(std::size_t(d.count) * 2, 3.5f);
  const kbnn::Dataset real_noise = kbnn::shifted(real, DataShift::noise, 5);
  CHECK_FALSE(real_noise.labeled);
  REQUIRE(real_noise.targets.size() == real.targets.size());
  for (float t : real_noise.targets) CHECK(std::isnan(t));
  CHECK(real_noise.pixels == noise.pixels);
  CHECK(kbnn::shifted(real, DataShift::rot90, 0).targets == real.targets);
  CHECK(kbnn::shifted(real, DataShift::rot90, 0).labeled);
}

TEST_CASE("[ood] deck options are read, named and checked", "[ood]") {
  const std::string deck = std::string(KBNN_SOURCE_DIR) + "/input/fashion_mnist_lenet5.cfg";
  const auto config = kbnn::parse_deck(deck, {"--ood.format=idx", "--ood.dir=/data/mnist/"});
  CHECK(config.ood.enabled());
  CHECK(kbnn::ood_set_name(config) == "mnist");
  CHECK(!kbnn::parse_deck(deck).ood.enabled());
  CHECK(kbnn::ood_set_name(kbnn::parse_deck(deck, {"--ood.shift=rot90"})) == "rot90");
  CHECK(kbnn::ood_set_name(kbnn::parse_deck(deck, {"--ood.shift=noise", "--ood.name=static"})) ==
        "static");
  // The resolved deck carries the section, and reads back to the same set.
  const auto again = kbnn::parse_deck_text(kbnn::resolved_deck(config), "resolved");
  CHECK(again.ood.dir == "/data/mnist/");
  CHECK(again.ood.format == kbnn::DataFormat::idx);

  using kbnn::test::contains;
  REQUIRE_THROWS_WITH(kbnn::parse_deck(deck, {"--ood.shift=blur"}),
                      contains("ood.shift: expected one of none, noise, invert, rot90, got 'blur'"));
  REQUIRE_THROWS_WITH(kbnn::parse_deck(deck, {"--ood.format=png"}),
                      contains("ood.format: expected one of idx, cifar10, hdf5"));
  REQUIRE_THROWS_WITH(kbnn::parse_deck(deck, {"--ood.format=idx", "--ood.shift=invert",
                                              "--ood.dir=/x"}),
                      contains("ood.shift: expected none when ood.format names a data set"));
  REQUIRE_THROWS_WITH(kbnn::parse_deck(deck, {"--ood.format=hdf5"}),
                      contains("ood.file to be set with ood.format = hdf5"));
  REQUIRE_THROWS_WITH(kbnn::parse_deck(deck, {"--ood.format=idx"}),
                      contains("ood.dir to be set with ood.format = idx or cifar10"));
  REQUIRE_THROWS_WITH(kbnn::parse_deck(deck, {"--ood.limit=-1"}),
                      contains("ood.limit: expected an integer >= 0"));
}
