#include "train/trainer.hpp"

#include "core/error.hpp"
#include "train/kl_divergence.hpp"
#include "train/kl_schedule.hpp"
#include "train/loss.hpp"
#include "train/shuffle.hpp"

#include <cmath>
#include <cstdio>
#include <ostream>

namespace kbnn {

std::unique_ptr<Optimizer<Real>> make_optimizer(const TrainConfig& config, std::size_t size) {
  if (config.optimizer == "sgd") return std::make_unique<Sgd<Real>>(size, config.momentum);
  return std::make_unique<Adam<Real>>(size, config.adam_beta1, config.adam_beta2,
                                      config.adam_epsilon);
}

Trainer::Trainer(const RunConfig& config, Sequential<Real>& model, const DeviceDataset& train,
                 std::ostream& log)
    : config_(config), model_(model), train_(train), log_(log) {
  const std::int64_t batch = config.train.batch_size;
  steps_per_epoch_ = (train.count() + batch - 1) / batch;
  optimizer_ = make_optimizer(config.train, model.parameters().size());
  if (batch > model.max_batch())
    throw RuntimeError(concat("Trainer: batch_size ", batch, " exceeds the model's reserved ",
                              model.max_batch(), " rows"));
}

namespace {
std::string format_duration(double seconds) {
  char text[32];
  const long s = std::lround(seconds);
  if (s >= 3600)
    std::snprintf(text, sizeof text, "%ldh%02ldm", s / 3600, (s / 60) % 60);
  else
    std::snprintf(text, sizeof text, "%ldm%02lds", s / 60, s % 60);
  return text;
}
}  // namespace

std::vector<HistoryRow> Trainer::run() {
  const TrainConfig& tc = config_.train;
  const std::int64_t n_train = train_.count();
  const std::int64_t batch = tc.batch_size;
  const int features = static_cast<int>(train_.shape.size());
  const int classes = static_cast<int>(model_.output_shape().size());
  const std::int64_t total_steps =
      tc.max_steps > 0 ? std::min<std::int64_t>(tc.max_steps, steps_per_epoch_ * tc.epochs)
                       : steps_per_epoch_ * tc.epochs;
  auto& store = model_.parameters();

  // Scratch, allocated once.
  View2<Real> x(Kokkos::view_alloc(Kokkos::WithoutInitializing, "kbnn::Trainer::x"), batch, features);
  View1<std::int32_t> y("kbnn::Trainer::y", batch);
  View2<Real> dlogits(Kokkos::view_alloc(Kokkos::WithoutInitializing, "kbnn::Trainer::dlogits"),
                      batch, classes);
  View1<double> correct("kbnn::Trainer::correct", batch);
  View1<std::int64_t> order("kbnn::Trainer::order", n_train);

  std::vector<HistoryRow> history;
  double window_nll = 0, window_correct = 0;
  std::int64_t window_images = 0;
  Kokkos::Timer clock;
  double window_start = 0;
  std::int64_t step = 0;

  for (int epoch = 0; epoch < tc.epochs && step < total_steps; ++epoch) {
    const auto host_order = epoch_order(n_train, tc.seed, std::uint32_t(epoch), tc.shuffle);
    Kokkos::deep_copy(order, Kokkos::View<const std::int64_t*, HostSpace,
                                          Kokkos::MemoryTraits<Kokkos::Unmanaged>>(
                                 host_order.data(), host_order.size()));
    for (std::int64_t s = 0; s < steps_per_epoch_ && step < total_steps; ++s) {
      const std::int64_t first = s * batch;
      const std::int64_t rows = std::min(batch, n_train - first);
      auto xb = as_matrix(x, rows, features);
      auto yb = Kokkos::subview(y, Kokkos::make_pair(std::int64_t(0), rows));
      gather_batch<Real>(train_, order, first, xb, yb);

      store.zero_gradients();
      const PassContext ctx{tc.seed, std::uint32_t(step), 0, true};
      const auto logits = model_.forward(xb, ctx);
      const auto d = as_matrix(dlogits, rows, classes);
      const LossSums sums =
          softmax_cross_entropy<Real>(logits, yb, Real(1.0 / double(rows)), d, correct);
      if (!std::isfinite(sums.nll))
        throw RuntimeError(concat("training diverged at step ", step, " (epoch ", epoch + 1,
                                  "): the loss is ", sums.nll));
      model_.backward(d);

      const double epoch_progress = double(step + 1) / double(steps_per_epoch_);
      const double beta = kl_beta(tc, epoch_progress, double(tc.epochs));
      add_kl_gradient(store, config_.model.prior_sigma, beta / double(n_train));
      optimizer_->step(store.values(), store.gradients(), tc.lr);
      ++step;

      window_nll += sums.nll;
      window_correct += sums.correct;
      window_images += rows;
      const bool last_of_epoch = s + 1 == steps_per_epoch_ || step == total_steps;
      if (step % tc.log_every == 0 || last_of_epoch) {
        Kokkos::fence();
        const double now = clock.seconds();
        HistoryRow row;
        row.step = step;
        row.epoch = epoch_progress;
        row.kl = kl_divergence(store, config_.model.prior_sigma);
        row.beta = beta;
        row.lr = tc.lr;
        row.nll = window_nll / double(window_images);
        row.loss = row.nll + beta * row.kl / double(n_train);
        row.train_accuracy = window_correct / double(window_images);
        row.seconds = now;
        row.images_per_second = double(window_images) / (now - window_start);
        history.push_back(row);
        const double eta = (total_steps - step) * (now / double(step));
        char line[256];
        std::snprintf(line, sizeof line,
                      "step %6lld/%lld  epoch %6.2f  loss %.4f  nll %.4f  kl %.4g  beta %.3g  "
                      "acc %.4f  %7.0f img/s  ETA %s",
                      static_cast<long long>(step), static_cast<long long>(total_steps),
                      row.epoch, row.loss, row.nll, row.kl, row.beta, row.train_accuracy,
                      row.images_per_second, format_duration(eta).c_str());
        log_ << line << std::endl;
        window_nll = window_correct = 0;
        window_images = 0;
        window_start = now;
      }
      images_trained_ += rows;
    }
  }
  Kokkos::fence();
  training_seconds_ = clock.seconds();
  return history;
}

}  // namespace kbnn
