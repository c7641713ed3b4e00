// Tests of the training mathematics against independent references: Adam and SGD
// against the update rules written out by hand, the KL schedules at chosen epochs,
// the closed-form KL against its definition (a Monte-Carlo estimate of
// E_q[log q(w) - log p(w)]) and its gradient against finite differences, softmax
// cross-entropy against a log-sum-exp reference and finite differences, and the epoch
// shuffle against the definition of a (uniformly drawn) permutation.
#include "catch.hpp"

#include "app/deck.hpp"
#include "core/parameter_store.hpp"
#include "core/types.hpp"
#include "train/clip_gradient_norm.hpp"
#include "train/kl_divergence.hpp"
#include "train/kl_schedule.hpp"
#include "train/loss.hpp"
#include "train/optimizer.hpp"
#include "train/shuffle.hpp"

#include <Kokkos_Core.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <numeric>
#include <random>
#include <string>
#include <vector>

namespace {

template <class Scalar>
kbnn::View1<Scalar> device_vector(const std::vector<double>& host, const std::string& label) {
  kbnn::View1<Scalar> v(label, host.size());
  auto m = Kokkos::create_mirror_view(v);
  for (std::size_t i = 0; i < host.size(); ++i) m(i) = Scalar(host[i]);
  Kokkos::deep_copy(v, m);
  return v;
}

template <class View>
std::vector<double> host_vector(const View& v) {
  auto m = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), v);
  std::vector<double> out(m.extent(0));
  for (std::size_t i = 0; i < out.size(); ++i) out[i] = double(m(i));
  return out;
}

template <class View>
std::vector<double> host_matrix(const View& v) {
  auto m = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), v);
  std::vector<double> out;
  for (std::size_t i = 0; i < m.extent(0); ++i)
    for (std::size_t j = 0; j < m.extent(1); ++j) out.push_back(double(m(i, j)));
  return out;
}

// softplus written here, independently of kbnn::math::softplus.
double softplus(double rho) { return std::log1p(std::exp(rho)); }

// ---------------------------------------------------------------------------------
// A store with two Gaussian blocks around a point block, so that the documented layout
// [ mu of all Gaussian blocks | rho of all Gaussian blocks | points ] is exercised:
//   a: 3 Gaussian weights, p: 2 point values, b: 2 Gaussian weights
//   values = [ mu_a0 mu_a1 mu_a2 mu_b0 mu_b1 | rho_a0 .. rho_b1 | p0 p1 ]
// mu and rho are given in the Gaussian order (a then b).
template <class Scalar>
struct KlStore {
  kbnn::ParameterStore<Scalar> store;
  std::vector<double> mu, rho, point;

  KlStore(std::vector<double> mu_, std::vector<double> rho_, std::vector<double> point_)
      : mu(std::move(mu_)), rho(std::move(rho_)), point(std::move(point_)) {
    REQUIRE(mu.size() == 5);
    REQUIRE(rho.size() == 5);
    REQUIRE(point.size() == 2);
    store.declare("a/kernel", {3}, kbnn::ParameterStore<Scalar>::Kind::gaussian);
    store.declare("p/bias", {2}, kbnn::ParameterStore<Scalar>::Kind::point);
    store.declare("b/kernel", {2}, kbnn::ParameterStore<Scalar>::Kind::gaussian);
    store.allocate();
    REQUIRE(store.size() == 12);
    REQUIRE(store.gaussian_count() == 5);
    upload();
  }

  void upload() {
    auto h = Kokkos::create_mirror_view(store.values());
    for (int i = 0; i < 5; ++i) {
      h(i) = Scalar(mu[i]);
      h(5 + i) = Scalar(rho[i]);
    }
    h(10) = Scalar(point[0]);
    h(11) = Scalar(point[1]);
    Kokkos::deep_copy(store.values(), h);
  }
};

// KL(N(mu, sigma^2) || N(0, sp^2)) summed over weights, in the textbook form
//   1/2 [ (sigma^2 + mu^2) / sp^2 - 1 - ln(sigma^2 / sp^2) ].
double kl_reference(const std::vector<double>& mu, const std::vector<double>& rho, double sp) {
  double kl = 0;
  for (std::size_t i = 0; i < mu.size(); ++i) {
    const double s = softplus(rho[i]);
    kl += 0.5 * ((s * s + mu[i] * mu[i]) / (sp * sp) - 1.0 - std::log((s * s) / (sp * sp)));
  }
  return kl;
}

// ---------------------------------------------------------------------------------
// Softmax cross-entropy reference: -log softmax(z)[y] = logsumexp(z) - z[y], with the
// maximum subtracted so that huge logits stay finite.
double nll_reference(const std::vector<double>& logits, int classes, int row, int label) {
  const double* z = logits.data() + std::size_t(row) * classes;
  const double top = *std::max_element(z, z + classes);
  double total = 0;
  for (int k = 0; k < classes; ++k) total += std::exp(z[k] - top);
  return top + std::log(total) - z[label];
}

struct LossResult {
  kbnn::LossSums sums;
  std::vector<double> dlogits;  // (rows, classes), row-major
  std::vector<double> correct;  // (rows)
};

template <class Scalar>
LossResult run_loss_in(kbnn::ThreadShape shape, const std::vector<double>& logits,
                       const std::vector<int>& labels, int classes, double grad_scale) {
  const int rows = int(labels.size());
  auto z = device_vector<Scalar>(logits, "kbnn::test::logits");
  kbnn::View1<std::int32_t> y("kbnn::test::labels", rows);
  auto yh = Kokkos::create_mirror_view(y);
  for (int b = 0; b < rows; ++b) yh(b) = labels[b];
  Kokkos::deep_copy(y, yh);
  kbnn::View2<Scalar> d("kbnn::test::dlogits", rows, classes);
  kbnn::View1<double> correct("kbnn::test::correct", rows);
  LossResult r;
  r.sums = kbnn::softmax_cross_entropy<Scalar>(kbnn::as_matrix(z, rows, classes), y,
                                               Scalar(grad_scale), kbnn::as_matrix(d, rows, classes),
                                               correct, shape);
  r.dlogits = host_matrix(d);
  r.correct = host_vector(correct);
  return r;
}

// The loss in both thread shapes (core/thread_shape.hpp): the same gradient and counts
// bit for bit; the NLL, a sum over threads, up to the order of its terms.
template <class Scalar>
LossResult run_loss(const std::vector<double>& logits, const std::vector<int>& labels,
                    int classes, double grad_scale) {
  using kbnn::ThreadShape;
  const auto rows = run_loss_in<Scalar>(ThreadShape::rows, logits, labels, classes, grad_scale);
  const auto elements =
      run_loss_in<Scalar>(ThreadShape::elements, logits, labels, classes, grad_scale);
  CHECK(rows.dlogits == elements.dlogits);
  CHECK(rows.correct == elements.correct);
  CHECK(rows.sums.correct == elements.sums.correct);
  CHECK(rows.sums.nll == Approx(elements.sums.nll).epsilon(1e-15));
  return rows;
}

}  // namespace

// =================================================================================
// Optimizers
// =================================================================================

TEST_CASE("Adam matches the bias-corrected update computed by hand", "[train]") {
  const double lr = 0.01, b1 = 0.9, b2 = 0.999, eps = 1e-8;
  // Gradients per step; parameter 3 sees a gradient (1e-9) below epsilon, where the
  // placement of epsilon (after the bias-corrected sqrt, as torch) decides the step;
  // parameter 4 sees no gradient on step 1.
  const std::vector<double> p0 = {0.5, -1.0, 2.0, 0.25, 0.0};
  const std::vector<std::vector<double>> g = {
      {0.2, -3.0, 1e-3, 1e-9, 0.0},
      {-0.1, -1.0, 2e-3, 1e-9, 0.5},
      {0.4, 2.0, -5e-3, -2e-9, 0.5},
  };
  const std::size_t n = p0.size();

  auto params = device_vector<double>(p0, "kbnn::test::params");
  kbnn::Adam<double> adam(n, b1, b2, eps);

  SECTION("one step, written out") {
    const auto grads = device_vector<double>(g[0], "kbnn::test::grads");
    adam.step(params, grads, lr);
    const auto p = host_vector(params);
    // t = 1: m = (1 - b1) g = 0.1 g, v = (1 - b2) g^2 = 0.001 g^2,
    // bias corrections 1 - b1 = 0.1 and 1 - b2 = 0.001, so m_hat = g, v_hat = g^2 and
    // the step is lr * g / (|g| + eps).
    // Parameter 0: g = 0.2 -> 0.5 - 0.01 * 0.2 / (0.2 + 1e-8) = 0.5 - 0.0099999995.
    CHECK(p[0] == Approx(0.4900000005).epsilon(1e-13));
    // Parameter 1: g = -3 -> -1 + 0.01 * 3 / (3 + 1e-8).
    CHECK(p[1] == Approx(-1.0 + 0.03 / (3.0 + 1e-8)).epsilon(1e-13));
    // Parameter 3: g = 1e-9 -> 0.25 - 0.01 * 1e-9 / (1e-9 + 1e-8) = 0.25 - 0.01 / 11.
    CHECK(p[3] == Approx(0.25 - 0.01 / 11.0).epsilon(1e-13));
    // Parameter 4: g = 0 -> m = v = 0 and the update 0 / (0 + eps) is exactly 0.
    CHECK(p[4] == 0.0);
    CHECK(adam.steps() == 1);
  }

  SECTION("three steps against the textbook algorithm") {
    // Kingma & Ba, Algorithm 1, in double.
    std::vector<double> p = p0, m(n, 0.0), v(n, 0.0);
    for (int t = 1; t <= 3; ++t) {
      const auto grads = device_vector<double>(g[t - 1], "kbnn::test::grads");
      adam.step(params, grads, lr);
      for (std::size_t i = 0; i < n; ++i) {
        const double gi = g[t - 1][i];
        m[i] = b1 * m[i] + (1 - b1) * gi;                   // first moment
        v[i] = b2 * v[i] + (1 - b2) * gi * gi;              // second moment
        const double m_hat = m[i] / (1 - std::pow(b1, t));  // bias corrections
        const double v_hat = v[i] / (1 - std::pow(b2, t));
        p[i] -= lr * m_hat / (std::sqrt(v_hat) + eps);
      }
    }
    const auto got = host_vector(params);
    const auto state = adam.state();
    REQUIRE(state.size() == 2);
    const auto got_m = host_vector(state[0]);
    const auto got_v = host_vector(state[1]);
    for (std::size_t i = 0; i < n; ++i) {
      INFO("parameter " << i);
      CHECK(got[i] == Approx(p[i]).epsilon(1e-12).margin(1e-15));
      CHECK(got_m[i] == Approx(m[i]).epsilon(1e-12).margin(1e-30));
      CHECK(got_v[i] == Approx(v[i]).epsilon(1e-12).margin(1e-30));
    }
    // Spot values, for the reader: parameter 4 (g = 0, 0.5, 0.5):
    //   t=2: m = 0.05, v = 0.00025, m_hat = 0.05/0.19, v_hat = 0.00025/0.001999
    //   t=3: m = 0.095, v = 0.00049975, m_hat = 0.095/0.271, v_hat = 0.00049975/0.002997001
    CHECK(m[4] == Approx(0.095));
    CHECK(v[4] == Approx(0.00049975));
    CHECK(adam.steps() == 3);
  }
}

TEST_CASE("Adam's first step moves every parameter by about lr * sign(g)", "[train]") {
  // m_hat = g and v_hat = g^2 after one step, so the step is lr * g / (|g| + eps), close
  // to lr * sign(g) whatever the gradient's scale (when |g| >> eps). Checked in float,
  // the training precision, and in double.
  const std::vector<double> start = {0.0, 1.0, -2.0, 0.5, 3.0};
  const std::vector<double> grads = {1e-3, -1e3, 5.0, -0.02, 0.3};
  const double lr = 0.01;
  auto check = [&](auto zero, double tol) {
    using Scalar = decltype(zero);
    auto params = device_vector<Scalar>(start, "kbnn::test::params");
    const auto g = device_vector<Scalar>(grads, "kbnn::test::grads");
    kbnn::Adam<Scalar> adam(start.size(), 0.9, 0.999, 1e-8);
    adam.step(params, g, lr);
    const auto p = host_vector(params);
    for (std::size_t i = 0; i < p.size(); ++i) {
      INFO("parameter " << i << " gradient " << grads[i]);
      const double expected_move = -lr * (grads[i] > 0 ? 1.0 : -1.0);
      CHECK(p[i] - start[i] == Approx(expected_move).epsilon(0).margin(tol));
    }
  };
  // |step - lr| = lr * eps / (|g| + eps) <= 1e-5 lr for |g| >= 1e-3; float rounds p at ~1e-7.
  check(double(0), 2e-5 * lr);
  check(float(0), 1e-4 * lr);
}

TEST_CASE("SGD with momentum matches two steps computed by hand", "[train]") {
  // torch.optim.SGD: buf = momentum * buf + g (buf = g on the first step); p -= lr * buf.
  const double lr = 0.1, momentum = 0.9;
  auto params = device_vector<double>({1.0, -2.0, 0.0}, "kbnn::test::params");
  kbnn::Sgd<double> sgd(3, momentum);

  // Step 1: g = (0.5, -1, 0) -> buf = (0.5, -1, 0);  p = (1 - 0.05, -2 + 0.1, 0).
  sgd.step(params, device_vector<double>({0.5, -1.0, 0.0}, "kbnn::test::g1"), lr);
  auto p = host_vector(params);
  CHECK(p[0] == Approx(0.95).epsilon(1e-14));
  CHECK(p[1] == Approx(-1.9).epsilon(1e-14));
  CHECK(p[2] == 0.0);

  // Step 2: g = (-0.25, -1, 2) -> buf = (0.45 - 0.25, -0.9 - 1, 0 + 2) = (0.2, -1.9, 2);
  //         p = (0.95 - 0.02, -1.9 + 0.19, 0 - 0.2) = (0.93, -1.71, -0.2).
  sgd.step(params, device_vector<double>({-0.25, -1.0, 2.0}, "kbnn::test::g2"), lr);
  p = host_vector(params);
  CHECK(p[0] == Approx(0.93).epsilon(1e-14));
  CHECK(p[1] == Approx(-1.71).epsilon(1e-14));
  CHECK(p[2] == Approx(-0.2).epsilon(1e-14));

  const auto state = sgd.state();
  REQUIRE(state.size() == 1);
  const auto buf = host_vector(state[0]);
  CHECK(buf[0] == Approx(0.2).epsilon(1e-14));
  CHECK(buf[1] == Approx(-1.9).epsilon(1e-14));
  CHECK(buf[2] == Approx(2.0).epsilon(1e-14));
  CHECK(sgd.steps() == 2);
}

TEST_CASE("SGD without momentum is plain gradient descent", "[train]") {
  auto params = device_vector<double>({1.0, -1.0}, "kbnn::test::params");
  kbnn::Sgd<double> sgd(2, 0.0);
  const auto g = device_vector<double>({0.3, -0.7}, "kbnn::test::grads");
  sgd.step(params, g, 0.5);
  sgd.step(params, g, 0.5);
  const auto p = host_vector(params);
  CHECK(p[0] == Approx(1.0 - 2 * 0.15).epsilon(1e-14));
  CHECK(p[1] == Approx(-1.0 + 2 * 0.35).epsilon(1e-14));
}

// =================================================================================
// KL schedules
// =================================================================================

TEST_CASE("Gradient-norm clipping scales the whole gradient to the norm, as torch's "
          "clip_grad_norm_", "[train]") {
  // ||(3, -4, 0, 12)|| = 13: to norm 6.5 it is halved (to within torch's 1e-6 on the norm).
  const std::vector<double> g = {3.0, -4.0, 0.0, 12.0};
  auto grads = device_vector<double>(g, "kbnn::test::grads");
  const kbnn::GradientClip halved = kbnn::clip_gradient_norm(grads, 6.5);
  CHECK(halved.norm == 13.0);
  CHECK(halved.clipped);
  const double half = 6.5 / (13.0 + 1e-6);
  const auto clipped = host_vector(grads);
  for (std::size_t i = 0; i < g.size(); ++i) CHECK(clipped[i] == Approx(g[i] * half).epsilon(1e-15));
  CHECK(clipped[3] == Approx(6.0).epsilon(1e-6));
  // Under the bound (norm + 1e-6 <= C) it is left alone, bit for bit; in float, the norm
  // is summed in double (1e20^2 would overflow float).
  auto unchanged = device_vector<double>(g, "kbnn::test::grads");
  const kbnn::GradientClip left = kbnn::clip_gradient_norm(unchanged, 13.5);
  CHECK(left.norm == 13.0);
  CHECK(!left.clipped);
  CHECK(host_vector(unchanged) == g);
  auto big = device_vector<float>({3e20f, 4e20f}, "kbnn::test::grads");
  CHECK(kbnn::clip_gradient_norm(big, 1.0).norm == Approx(5e20).epsilon(1e-6));
  const auto small = host_vector(big);
  CHECK(small[0] == Approx(0.6).epsilon(1e-6));
  CHECK(small[1] == Approx(0.8).epsilon(1e-6));
}

TEST_CASE("The constant KL schedule returns kl_beta at every epoch", "[train]") {
  kbnn::TrainConfig c;
  c.kl_schedule = kbnn::KlSchedule::constant;
  for (double beta : {1.0, 0.25, 0.0}) {
    c.kl_beta = beta;
    for (double epoch : {0.0, 0.3, 1.0, 7.5, 10.0}) CHECK(kbnn::kl_beta(c, epoch, 10.0) == beta);
  }
}

TEST_CASE("The linear KL schedule warms up over kl_warmup_epochs", "[train]") {
  kbnn::TrainConfig c;
  c.kl_schedule = kbnn::KlSchedule::linear;
  c.kl_warmup_epochs = 5;
  for (double scale : {1.0, 0.3}) {
    c.kl_beta = scale;
    INFO("kl_beta " << scale);
    // beta = kl_beta * min(1, epoch / 5).
    CHECK(kbnn::kl_beta(c, 0.0, 10.0) == 0.0);
    CHECK(kbnn::kl_beta(c, 1.0, 10.0) == Approx(0.2 * scale));
    CHECK(kbnn::kl_beta(c, 2.5, 10.0) == Approx(0.5 * scale));
    CHECK(kbnn::kl_beta(c, 5.0, 10.0) == Approx(1.0 * scale));
    CHECK(kbnn::kl_beta(c, 7.0, 10.0) == Approx(1.0 * scale));
    CHECK(kbnn::kl_beta(c, 10.0, 10.0) == Approx(1.0 * scale));
  }
}

TEST_CASE("The cyclical KL schedule ramps up in each of kl_cycles cycles", "[train]") {
  // 4 cycles over 8 epochs: each cycle lasts 2 epochs, beta rises over its first half
  // (ratio 0.5, i.e. 1 epoch) and then holds at kl_beta (Liu et al. 2019).
  kbnn::TrainConfig c;
  c.kl_schedule = kbnn::KlSchedule::cyclical;
  c.kl_cycles = 4;
  c.kl_ratio = 0.5;
  struct Point { double epoch, beta; };
  const Point expected[] = {
      {0.0, 0.0},  {0.5, 0.5},  {1.0, 1.0},  {1.5, 1.0}, {1.9, 1.0},   // cycle 1
      {2.0, 0.0},  {2.25, 0.25}, {2.5, 0.5}, {3.0, 1.0}, {3.99, 1.0},  // cycle 2
      {4.0, 0.0},  {4.75, 0.75},                                       // cycle 3
      {6.0, 0.0},  {6.1, 0.1},  {7.5, 1.0},                            // cycle 4
  };
  for (double scale : {1.0, 2.0}) {
    c.kl_beta = scale;
    for (const Point& pt : expected) {
      INFO("kl_beta " << scale << " epoch " << pt.epoch);
      CHECK(kbnn::kl_beta(c, pt.epoch, 8.0) == Approx(pt.beta * scale).margin(1e-12));
    }
  }
  // Ratio 1: beta rises over the whole cycle. 2 cycles over 3 epochs: period 1.5.
  c.kl_beta = 1.0;
  c.kl_ratio = 1.0;
  c.kl_cycles = 2;
  CHECK(kbnn::kl_beta(c, 0.75, 3.0) == Approx(0.5));
  CHECK(kbnn::kl_beta(c, 1.5, 3.0) == Approx(0.0).margin(1e-12));
  CHECK(kbnn::kl_beta(c, 2.625, 3.0) == Approx(0.75));
}

// =================================================================================
// KL divergence
// =================================================================================

TEST_CASE("KL matches its closed form, summed over Gaussian weights only", "[train]") {
  // rho spans the log1p(exp) branch and the large-rho branch of softplus (rho > 20).
  KlStore<double> s({0.1, -0.5, 0.0, 1.2, -2.0}, {-3.0, -1.0, 0.0, 1.5, 25.0},
                    {1e6, -1e6});  // huge points: any point value leaking into KL shows
  // For rho > 20 the code takes softplus(rho) = rho, which is off by log1p(exp(-rho))
  // (1.4e-11 at rho = 25): a relative error of ~1e-12 in sigma^2, hence epsilon 1e-10.
  for (double sp : {1.0, 0.3, 2.5}) {
    INFO("prior sigma " << sp);
    CHECK(kbnn::kl_divergence(s.store, sp) == Approx(kl_reference(s.mu, s.rho, sp)).epsilon(1e-10));
  }
  // One weight by hand: mu = 0, rho = log(e - 1) so sigma = 1, prior N(0, 1): KL = 0.
  KlStore<double> zero({0, 0, 0, 0, 0}, std::vector<double>(5, std::log(std::exp(1.0) - 1.0)),
                       {3.0, 4.0});
  CHECK(kbnn::kl_divergence(zero.store, 1.0) == Approx(0.0).margin(1e-12));
  // Same sigma = 1 with prior sigma 2: 5 * (1/8 - 1/2 + ln 2).
  CHECK(kbnn::kl_divergence(zero.store, 2.0) == Approx(5 * (0.125 - 0.5 + std::log(2.0))).epsilon(1e-12));

  // Float store (the training precision), accumulated in double.
  KlStore<float> f({0.1, -0.5, 0.0, 1.2, -2.0}, {-3.0, -1.0, 0.0, 1.5, 2.0}, {0.0, 0.0});
  std::vector<double> mu_f, rho_f;
  for (double x : f.mu) mu_f.push_back(double(float(x)));
  for (double x : f.rho) rho_f.push_back(double(float(x)));
  CHECK(kbnn::kl_divergence(f.store, 0.5) == Approx(kl_reference(mu_f, rho_f, 0.5)).epsilon(1e-5));
}

TEST_CASE("KL matches a Monte-Carlo estimate of E_q[log q(w) - log p(w)]", "[train]") {
  KlStore<double> s({0.3, -0.7, 0.0, 1.1, -0.2}, {-2.0, -0.5, 0.0, 0.7, 1.0}, {5.0, -5.0});
  std::vector<double> sigma;
  for (double r : s.rho) sigma.push_back(softplus(r));

  for (double sp : {1.0, 0.4, 3.0}) {
    DYNAMIC_SECTION("prior sigma " << sp) {
      // Draw w ~ q by w = mu + sigma * eps and average
      //   log q(w) - log p(w) = [-log sigma - eps^2 / 2] - [-log sp - w^2 / (2 sp^2)]
      // (the log(2 pi) / 2 terms cancel), summed over the 5 weights.
      std::mt19937_64 rng(20240611u + std::uint64_t(sp * 1000));
      std::normal_distribution<double> normal(0.0, 1.0);
      const int samples = 200000;
      double sum = 0, sum_sq = 0;
      for (int n = 0; n < samples; ++n) {
        double x = 0;
        for (std::size_t i = 0; i < sigma.size(); ++i) {
          const double e = normal(rng);
          const double w = s.mu[i] + sigma[i] * e;
          x += (-std::log(sigma[i]) - 0.5 * e * e) - (-std::log(sp) - 0.5 * w * w / (sp * sp));
        }
        sum += x;
        sum_sq += x * x;
      }
      const double mean = sum / samples;
      const double variance = (sum_sq - samples * mean * mean) / (samples - 1);
      const double standard_error = std::sqrt(variance / samples);
      const double kl = kbnn::kl_divergence(s.store, sp);
      INFO("closed form " << kl << ", Monte Carlo " << mean << " +- " << standard_error);
      CHECK(standard_error > 0);
      CHECK(standard_error < 0.05 * std::max(1.0, std::abs(kl)));  // the test has power
      CHECK(std::abs(kl - mean) < 4 * standard_error);
    }
  }
}

TEST_CASE("add_kl_gradient matches finite differences of kl_divergence", "[train]") {
  // rho from the small-sigma regime (-4) to the large-rho branch of softplus (22).
  KlStore<double> s({0.4, -1.3, 0.0, 2.0, -0.05}, {-4.0, -1.0, 0.0, 1.5, 22.0}, {0.7, -0.9});
  const double scale = 0.37;  // beta_t / N_train in training
  const std::vector<double> start_grad = {0.1, -0.2, 0.3, -0.4, 0.5, 0.6, -0.7, 0.8, -0.9, 1.0,
                                          1.1, -1.2};

  for (double sp : {1.0, 0.3}) {
    DYNAMIC_SECTION("prior sigma " << sp) {
      // gradient += scale * dKL: start from non-zero values to check accumulation.
      Kokkos::deep_copy(s.store.gradients(), device_vector<double>(start_grad, "kbnn::test::g0"));
      kbnn::add_kl_gradient(s.store, sp, scale);
      const auto g = host_vector(s.store.gradients());

      // h = 1e-5: KL is ~2700 here (sigma = 22 against sp = 0.3), so the round-off of a
      // central difference is ~2700 * 1e-16 / h ~ 3e-8, and the truncation error h^2 f'''/6
      // stays below 1e-9.
      const double h = 1e-5;
      auto kl_at = [&](int index, double delta) {
        // index in [0, 5): mu; [5, 10): rho, in the store's layout.
        KlStore<double> t(s.mu, s.rho, s.point);
        if (index < 5) t.mu[index] += delta; else t.rho[index - 5] += delta;
        t.upload();
        return kbnn::kl_divergence(t.store, sp);
      };
      for (int i = 0; i < 10; ++i) {
        const double fd = (kl_at(i, h) - kl_at(i, -h)) / (2 * h);
        const double added = g[i] - start_grad[i];
        INFO((i < 5 ? "mu " : "rho ") << i % 5 << ": added " << added << ", scale * FD "
                                     << scale * fd);
        CHECK(added == Approx(scale * fd).epsilon(1e-6).margin(1e-7));
      }
      // Point parameters carry no KL: their gradient is untouched.
      CHECK(g[10] == start_grad[10]);
      CHECK(g[11] == start_grad[11]);
    }
  }
}

// =================================================================================
// Softmax cross-entropy
// =================================================================================

TEST_CASE("Softmax cross-entropy matches a log-sum-exp reference", "[train]") {
  const int classes = 4;
  // Row-major (rows, classes); the arg-max of each row is marked.
  const std::vector<double> logits = {
      0.5,  -1.0, 2.0 /*max*/, 0.3,   // row 0, label 2: correct
      3.0 /*max*/, 1.0, -2.0, 0.0,    // row 1, label 1: wrong
      -0.2, -0.1, -0.3, 0.4 /*max*/,  // row 2, label 3: correct
      1.0,  4.0 /*max*/, 3.9, -5.0,   // row 3, label 2: wrong (close second)
      0.0,  0.0, 0.0, 0.0,            // row 4, all equal; label 1: first index wins
  };
  const std::vector<int> labels = {2, 1, 3, 2, 1};
  const int rows = int(labels.size());

  const auto r = run_loss<double>(logits, labels, classes, 1.0 / rows);
  double nll = 0;
  for (int b = 0; b < rows; ++b) nll += nll_reference(logits, classes, b, labels[b]);
  CHECK(r.sums.nll == Approx(nll).epsilon(1e-13));
  // Row 4 by hand: uniform over 4 classes, -log(1/4).
  CHECK(nll_reference(logits, classes, 4, 1) == Approx(std::log(4.0)));

  CHECK(r.sums.correct == 2.0);
  const std::vector<double> expected_correct = {1, 0, 1, 0, 0};
  CHECK(r.correct == expected_correct);

  // The same rows in float, the training precision.
  const auto rf = run_loss<float>(logits, labels, classes, 1.0 / rows);
  CHECK(rf.sums.nll == Approx(nll).epsilon(1e-6));
  CHECK(rf.sums.correct == 2.0);
}

TEST_CASE("Softmax cross-entropy gradient matches finite differences of the mean NLL",
          "[train]") {
  const int classes = 5;
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> u(-3.0, 3.0);
  std::vector<double> logits(4 * classes);
  for (auto& z : logits) z = u(rng);
  const std::vector<int> labels = {0, 4, 2, 2};
  const int rows = int(labels.size());

  // The NLL written in the test; L = sum over rows / divisor.
  auto loss = [&](const std::vector<double>& z, double divisor) {
    double total = 0;
    for (int b = 0; b < rows; ++b) total += nll_reference(z, classes, b, labels[b]);
    return total / divisor;
  };
  // grad_scale = 1/rows: the gradient of this shard's mean. grad_scale = 1/10: this
  // shard of 4 rows is part of a global batch of 10 (the sum over ranks is the mean).
  for (double divisor : {double(rows), 10.0}) {
    DYNAMIC_SECTION("grad_scale 1/" << divisor) {
      const auto r = run_loss<double>(logits, labels, classes, 1.0 / divisor);
      const double h = 1e-6;
      for (std::size_t i = 0; i < logits.size(); ++i) {
        auto plus = logits, minus = logits;
        plus[i] += h;
        minus[i] -= h;
        const double fd = (loss(plus, divisor) - loss(minus, divisor)) / (2 * h);
        INFO("logit (" << i / classes << ", " << i % classes << ")");
        CHECK(r.dlogits[i] == Approx(fd).epsilon(1e-6).margin(1e-9));
      }
      // Each row of softmax - onehot sums to zero.
      for (int b = 0; b < rows; ++b) {
        double row_sum = 0;
        for (int k = 0; k < classes; ++k) row_sum += r.dlogits[std::size_t(b) * classes + k];
        CHECK(row_sum == Approx(0.0).margin(1e-14));
      }
    }
  }
}

TEST_CASE("Softmax cross-entropy stays finite for huge logits", "[train]") {
  const int classes = 3;
  const std::vector<double> logits = {
      1000.0, -1000.0, 0.0,   // label 0: p(label) = 1, NLL ~ exp(-1000) = 0
      1000.0, -1000.0, 0.0,   // label 1: NLL = 2000
      -1000.0, 1000.0, 999.0, // label 2: NLL = 1 + log(1 + e^-1)
  };
  const std::vector<int> labels = {0, 1, 2};
  const double row2 = 1.0 + std::log1p(std::exp(-1.0));
  auto check = [&](auto zero, double tol) {
    using Scalar = decltype(zero);
    const auto r = run_loss<Scalar>(logits, labels, classes, 1.0);
    CHECK(std::isfinite(r.sums.nll));
    CHECK(r.sums.nll == Approx(2000.0 + row2).epsilon(tol));
    for (double d : r.dlogits) CHECK(std::isfinite(d));
    // Rows 0 and 1 have softmax = (1, 0, 0): dlogits = softmax - onehot.
    CHECK(r.dlogits[0] == Approx(0.0).margin(tol));
    CHECK(r.dlogits[3] == Approx(1.0).epsilon(tol));
    CHECK(r.dlogits[4] == Approx(-1.0).epsilon(tol));
    // Row 2: softmax = (0, 1/(1+e^-1), e^-1/(1+e^-1)).
    const double p2 = std::exp(-1.0) / (1.0 + std::exp(-1.0));
    CHECK(r.dlogits[8] == Approx(p2 - 1.0).epsilon(tol));
    CHECK(r.sums.correct == 1.0);
  };
  check(double(0), 1e-12);
  check(float(0), 1e-5);
}

// =================================================================================
// Epoch order
// =================================================================================

TEST_CASE("epoch_order is a reproducible permutation of the training set", "[train]") {
  const std::int64_t n = 1000;
  const auto order = kbnn::epoch_order(n, 42, 3, true);
  REQUIRE(order.size() == std::size_t(n));

  // Every index exactly once.
  std::vector<int> seen(n, 0);
  for (const auto i : order) {
    REQUIRE(i >= 0);
    REQUIRE(i < n);
    ++seen[std::size_t(i)];
  }
  CHECK(std::all_of(seen.begin(), seen.end(), [](int c) { return c == 1; }));

  std::vector<std::int64_t> identity(n);
  std::iota(identity.begin(), identity.end(), std::int64_t(0));
  CHECK(order != identity);

  // Same (seed, epoch): same order; another epoch or seed: another order.
  CHECK(kbnn::epoch_order(n, 42, 3, true) == order);
  CHECK(kbnn::epoch_order(n, 42, 4, true) != order);
  CHECK(kbnn::epoch_order(n, 43, 3, true) != order);
  CHECK(kbnn::epoch_order(n, 42ull + (1ull << 32), 3, true) != order);  // high seed word

  // No shuffle: the identity, whatever the seed and epoch.
  CHECK(kbnn::epoch_order(n, 42, 3, false) == identity);
  CHECK(kbnn::epoch_order(n, 7, 0, false) == identity);

  // Degenerate sizes.
  CHECK(kbnn::epoch_order(0, 42, 3, true).empty());
  CHECK(kbnn::epoch_order(1, 42, 3, true) == std::vector<std::int64_t>{0});
}

TEST_CASE("epoch_order draws every permutation equally often", "[train]") {
  // All 4! = 24 orders of 4 items over 24000 epochs: a Fisher-Yates shuffle makes each
  // appear ~1000 times; an off-by-one (Sattolo's algorithm) would give only the 6
  // cyclic permutations. Chi-square with 23 degrees of freedom: mean 23, sd 6.8;
  // 60 is beyond the 99.99% quantile. The draws are deterministic, so this never flakes.
  const int epochs = 24000;
  std::map<std::vector<std::int64_t>, int> counts;
  for (int e = 0; e < epochs; ++e) ++counts[kbnn::epoch_order(4, 1234, std::uint32_t(e), true)];
  CHECK(counts.size() == 24);
  const double expected = epochs / 24.0;
  double chi2 = 0;
  for (const auto& kv : counts) chi2 += (kv.second - expected) * (kv.second - expected) / expected;
  chi2 += (24 - double(counts.size())) * expected;  // permutations never drawn
  INFO("chi-square " << chi2);
  CHECK(chi2 < 60.0);
}
