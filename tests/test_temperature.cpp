// Temperature scaling (uq/temperature.hpp): the tempered NLL from stored pass
// log-probabilities, and the fit: a known optimum (also where a class trails by more
// than a float probability can hold), no T on a fine grid does better, the same T
// whether the rows are on one rank or spread over several ([mpi]), and a fit at an end
// of the searched range flagged, with the warning the run logs.
#include "catch.hpp"

#include "app/deck.hpp"
#include "app/ensemble_eval.hpp"
#include "data/device_dataset.hpp"
#include "model/build_model.hpp"
#include "parallel/communicator.hpp"
#include "uq/evaluate.hpp"
#include "uq/temperature.hpp"

#include <cmath>
#include <random>
#include <vector>

namespace {

using Catch::Matchers::Contains;

// (passes, rows, classes) log-probabilities log softmax(z) of random logits of scale
// `spread`, and random labels: an under- or overconfident stand-in for a model's passes.
struct Passes {
  std::vector<double> log_probs;
  std::vector<std::int32_t> labels;
  int passes, classes;
};

Passes random_passes(std::int64_t rows, int passes, int classes, double spread, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> normal(0, spread);
  std::uniform_int_distribution<int> label(0, classes - 1);
  Passes p{std::vector<double>(std::size_t(passes * rows * classes)), {}, passes, classes};
  for (std::int64_t i = 0; i < rows; ++i) p.labels.push_back(label(rng));
  for (int s = 0; s < passes; ++s)
    for (std::int64_t i = 0; i < rows; ++i) {
      std::vector<double> z(classes);
      double total = 0;
      for (int k = 0; k < classes; ++k)  // the label's logit a little ahead: informative
        total += z[k] = std::exp(normal(rng) + (k == p.labels[i] ? spread : 0));
      for (int k = 0; k < classes; ++k)
        p.log_probs[(s * rows + i) * classes + k] = std::log(z[k] / total);
    }
  return p;
}

// Rows [lo, hi) of every pass.
Passes slice(const Passes& all, std::int64_t lo, std::int64_t hi) {
  const std::int64_t rows = std::int64_t(all.labels.size());
  Passes p{{}, {all.labels.begin() + lo, all.labels.begin() + hi}, all.passes, all.classes};
  for (int s = 0; s < all.passes; ++s)
    p.log_probs.insert(p.log_probs.end(), all.log_probs.begin() + (s * rows + lo) * all.classes,
                       all.log_probs.begin() + (s * rows + hi) * all.classes);
  return p;
}

kbnn::TemperedPasses tempered(const Passes& p) {
  return kbnn::TemperedPasses(p.log_probs, p.passes, p.classes, p.labels);
}

// A classifier whose every row has logits (a, 0): a deterministic dense layer on one
// feature of value 1. `wrong` of `rows` rows are labelled 1, the rest 0.
kbnn::Evaluation confident_passes(double a, int rows, int wrong) {
  kbnn::Dataset d;
  d.source = "ones";
  d.count = rows;
  d.height = d.width = d.channels = 1;
  d.float_features = true;
  d.num_classes = 2;
  d.values.assign(std::size_t(rows), 1.0f);
  for (int i = 0; i < rows; ++i) d.labels.push_back(i < rows - wrong ? 0 : 1);
  const kbnn::DeviceDataset data = kbnn::to_device(d);
  kbnn::ModelConfig config;
  config.layers.push_back(kbnn::parse_layer("dense out=2 estimator=deterministic"));
  auto model = kbnn::build_model<kbnn::Real>(config, data.shape);
  model->finalize(1, 64);
  // Kernel (2, 1) and bias (2), in either order: logits (a, 0) for the input 1.
  const auto values = model->parameters().values();
  REQUIRE(values.extent(0) == 4);
  auto host = Kokkos::create_mirror_view(values);
  for (int i = 0; i < 4; ++i) host(i) = i == 0 ? kbnn::Real(a) : kbnn::Real(0);
  Kokkos::deep_copy(values, host);
  kbnn::EvalOptions options;
  options.samples = 2;
  options.batch = 64;
  options.keep_samples = true;
  const kbnn::Communicator self(MPI_COMM_SELF);
  return kbnn::evaluate(*model, data, 0, rows, options, self);
}

}  // namespace

TEST_CASE("The tempered NLL at T = 1 is the NLL of the passes' mean", "[temperature]") {
  const Passes p = random_passes(50, 4, 5, 1.5, 7);
  double expected = 0;
  for (int i = 0; i < 50; ++i) {
    double mean = 0;
    for (int s = 0; s < 4; ++s) mean += std::exp(p.log_probs[(s * 50 + i) * 5 + p.labels[i]]) / 4.0;
    expected -= std::log(mean);
  }
  // To rounding: tempering renormalises each pass.
  CHECK(tempered(p).nll_sum(1.0) == Approx(expected).epsilon(1e-12));
  CHECK(tempered(p).nll_sum(0.5) != Approx(expected).epsilon(1e-3));  // and T matters
}

TEST_CASE("The fitted temperature of a constant two-class predictive is logit(q) / a",
          "[temperature]") {
  // Every row: logits (a, 0), so p(class 0) = sigmoid(a / T); a fraction q of the labels
  // is class 0. The NLL is least where sigmoid(a / T) = q: T = a / log(q / (1 - q)).
  const double a = 2, q = 0.8;
  const double p0 = 1 / (1 + std::exp(-a));
  Passes p{{}, {}, 1, 2};
  for (int i = 0; i < 100; ++i) {
    p.log_probs.push_back(std::log(p0));
    p.log_probs.push_back(std::log(1 - p0));
    p.labels.push_back(i < 80 ? 0 : 1);
  }
  const kbnn::Communicator self(MPI_COMM_SELF);
  const kbnn::TemperatureFit fit = kbnn::fit_temperature(tempered(p), self);
  const double best = a / std::log(q / (1 - q));  // 1.4427
  CHECK(fit.temperature == Approx(best).epsilon(1e-5));
  const double nll_best = -(q * std::log(q) + (1 - q) * std::log(1 - q));
  CHECK(fit.nll == Approx(nll_best).epsilon(1e-9));
  CHECK(fit.nll_untempered == Approx(-(q * std::log(p0) + (1 - q) * std::log(1 - p0))).epsilon(1e-6));
  CHECK(fit.examples == 100);
  CHECK(fit.passes == 1);
}

// Every row's logits (a, 0) with a fraction q of the labels class 0.
Passes constant_passes(double a, double q) {
  const double p0 = 1 / (1 + std::exp(-a));
  Passes p{{}, {}, 1, 2};
  for (int i = 0; i < 100; ++i) {
    p.log_probs.push_back(std::log(p0));
    p.log_probs.push_back(std::log(1 - p0));
    p.labels.push_back(i < q * 100 ? 0 : 1);
  }
  return p;
}

TEST_CASE("A fitted temperature at an end of its range says so, and its warning why",
          "[temperature]") {
  const kbnn::Communicator self(MPI_COMM_SELF);
  // Every label class 0: the NLL falls towards T = 0, so the fit stops at 1/20.
  kbnn::TemperatureFit fit = kbnn::fit_temperature(tempered(constant_passes(2, 1.0)), self);
  CHECK(fit.temperature == Approx(kbnn::min_temperature).epsilon(1e-5));
  CHECK(fit.at_limit);
  const std::string low = kbnn::temperature_limit_warning(fit);
  CHECK_THAT(low, Contains("warning: temperature: T = 0.0500 is the lower end of the range "
                           "searched, [1/20, 20]: the validation NLL still falls below it, so "
                           "T is no minimum: too few validation rows (100), or a model far "
                           "from calibrated (underconfident)"));
  CHECK_THAT(low, Contains("give more validation rows (data.validation_fraction) or set "
                           "eval.temperature to a number"));
  CHECK(low.find('\n') == std::string::npos);  // one line
  // At logits (4, 0) the NLL is exactly 0 in double for every T below 4 / 36.7 = 0.109
  // (1 + exp(-4 / T) rounds to 1): a plateau wider than the grid's first step, on which
  // the golden section drifts to wherever rounding ends it. A tie goes to the range's
  // end: no point of the plateau is a minimum more than the end is.
  fit = kbnn::fit_temperature(tempered(constant_passes(4, 1.0)), self);
  CHECK(fit.nll == 0);
  CHECK(fit.temperature == Approx(kbnn::min_temperature).epsilon(1e-12));
  CHECK(fit.at_limit);
  // 52 % class 0 at logits (2, 0): the best T, 2 / logit(0.52) = 25.0, lies past 20.
  fit = kbnn::fit_temperature(tempered(constant_passes(2, 0.52)), self);
  CHECK(fit.temperature == Approx(kbnn::max_temperature).epsilon(1e-5));
  CHECK(fit.at_limit);
  CHECK_THAT(kbnn::temperature_limit_warning(fit),
             Contains("T = 20.0000 is the upper end") && Contains("falls above it") &&
                 Contains("(overconfident)"));
  // Minima inside the range (T = 1.44 and 16.6) are no limit.
  for (const double q : {0.8, 0.53}) {
    INFO("q " << q);
    fit = kbnn::fit_temperature(tempered(constant_passes(2, q)), self);
    CHECK(fit.temperature == Approx(2 / std::log(q / (1 - q))).epsilon(1e-5));
    CHECK_FALSE(fit.at_limit);
  }
}

TEST_CASE("No temperature on a fine grid beats the fitted one", "[temperature]") {
  const kbnn::Communicator self(MPI_COMM_SELF);
  for (const double spread : {0.3, 1.0, 3.0}) {  // under- to overconfident passes
    INFO("spread " << spread);
    const Passes p = random_passes(200, 5, 10, spread, 3);
    const kbnn::TemperedPasses rows = tempered(p);
    const kbnn::TemperatureFit fit = kbnn::fit_temperature(rows, self);
    CHECK(fit.nll == Approx(rows.nll_sum(fit.temperature) / 200).epsilon(1e-12));
    CHECK(fit.nll <= fit.nll_untempered);
    for (double u = std::log(0.05); u <= std::log(20.0); u += 0.01)
      CHECK(fit.nll <= rows.nll_sum(std::exp(u)) / 200 + 1e-12);
  }
}

TEST_CASE("The temperature fitted over ranks' shards is the one of all rows on one rank",
          "[mpi][temperature]") {
  const kbnn::Communicator world(MPI_COMM_WORLD), self(MPI_COMM_SELF);
  const Passes all = random_passes(101, 3, 10, 2.0, 11);
  const auto [lo, hi] = world.shard(101);
  const kbnn::TemperatureFit shards = kbnn::fit_temperature(tempered(slice(all, lo, hi)), world);
  const kbnn::TemperatureFit whole = kbnn::fit_temperature(tempered(all), self);
  CHECK(shards.examples == 101);
  CHECK(shards.temperature == Approx(whole.temperature).epsilon(1e-5));
  CHECK(shards.nll == Approx(whole.nll).epsilon(1e-12));
}

TEST_CASE("Tempered passes refuse probabilities of the wrong size", "[temperature]") {
  REQUIRE_THROWS_WITH(kbnn::TemperedPasses(std::vector<double>(59), 2, 10, {0, 1, 2}),
                      Contains("tempered passes: 59 log-probabilities for 2 passes x 3 rows x 10 "
                               "classes"));
}

TEST_CASE("A fitted temperature reads classes that trail by more than a float can hold",
          "[temperature]") {
  // Every row's logits (a, 0) with a = 120: p(class 1) = exp(-120) = 8e-53, 0 as a float,
  // whose log (capped) would weigh the class as trailing by 690. Two of 1000 rows are
  // class 1: the NLL is least where sigmoid(a / T) = 998 / 1000.
  const double a = 120;
  const kbnn::Evaluation e = confident_passes(a, 1000, 2);
  REQUIRE(e.sample_log_probs.size() == 2 * 1000 * 2);
  CHECK(e.sample_log_probs[1] == Approx(-a).epsilon(1e-12));
  const kbnn::Communicator self(MPI_COMM_SELF);
  const kbnn::TemperatureFit fit =
      kbnn::fit_temperature(kbnn::TemperedPasses(e.sample_log_probs, 2, 2, e.rows.label), self);
  const double q = 0.998;
  CHECK(fit.temperature == Approx(a / std::log(q / (1 - q))).epsilon(1e-5));  // 19.3156
  CHECK_FALSE(fit.at_limit);  // near the end of the range, not at it
  CHECK(fit.nll == Approx(-(q * std::log(q) + (1 - q) * std::log(1 - q))).epsilon(1e-9));
  // The probabilities written out (probs_samples) are still those of the passes.
  CHECK(kbnn::probabilities_of(e.sample_log_probs)[0] == 1.0f);
  CHECK(kbnn::probabilities_of(e.sample_log_probs)[1] == 0.0f);
}
