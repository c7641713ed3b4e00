#include "app/run_train.hpp"

#include "core/types.hpp"
#include "io/dataset.hpp"
#include "io/device_dataset.hpp"
#include "model/build_model.hpp"
#include "train/kl_divergence.hpp"
#include "train/trainer.hpp"
#include "uq/predictive.hpp"

#include <algorithm>
#include <cstdio>
#include <ostream>

namespace kbnn {

namespace {
void print(std::ostream& log, const char* format, double a, double b = 0, double c = 0,
           double d = 0, double e = 0, double f = 0) {
  char line[512];
  std::snprintf(line, sizeof line, format, a, b, c, d, e, f);
  log << line << std::endl;
}
}  // namespace

void run_train(const RunConfig& config, std::ostream& log) {
  log << "kbnn " << KBNN_VERSION << ": deck " << config.deck_path << ", Kokkos "
      << ExecSpace::name() << std::endl;

  Kokkos::Timer load_clock;
  Dataset train_host = load_dataset(config.data.format, config.data.dir, true);
  Dataset test_host = load_dataset(config.data.format, config.data.dir, false);
  truncate(train_host, config.data.train_limit);
  truncate(test_host, config.data.test_limit);
  const DeviceDataset train = to_device(train_host);
  const DeviceDataset test = to_device(test_host);
  log << "data: " << train.count() << " training and " << test.count() << " test images of "
      << train.shape.height << "x" << train.shape.width << "x" << train.shape.channels
      << " from " << config.data.dir << " (" << load_clock.seconds() << " s)" << std::endl;

  auto model = build_model<Real>(config.model, train.shape);
  const auto classes = model->output_shape().size();
  if (classes != train_host.num_classes)
    throw InputError(concat("input deck ", config.deck_path, ": the model ends with ", classes,
                            " outputs but the data has ", train_host.num_classes, " classes"));
  const int max_batch =
      static_cast<int>(std::max(config.train.batch_size, config.eval.batch_size));
  model->finalize(config.train.seed, max_batch);
  const auto& store = model->parameters();
  log << "model: " << model->layers().size() << " layers, " << store.gaussian_count()
      << " Gaussian weights (mu, rho), " << store.size() - 2 * store.gaussian_count()
      << " point parameters; initial KL " << kl_divergence(store, config.model.prior_sigma)
      << std::endl;

  Trainer trainer(config, *model, train, log);
  trainer.run();
  const double images_per_second = trainer.images_trained() / trainer.training_seconds();
  const double flops = training_flops_per_example(*model);
  print(log, "training: %.0f images in %.2f s = %.0f images/s, %.2f GFLOP/s in gemms "
             "(%.1f MFLOP per batch-128 step)",
        double(trainer.images_trained()), trainer.training_seconds(), images_per_second,
        images_per_second * flops * 1e-9, flops * 128 * 1e-6);

  const Predictions predictions = predict(*model, test, config.eval.samples,
                                          config.eval.batch_size, config.train.seed);
  const Metrics m = evaluate(predictions);
  print(log, "test (MC predictive mean, S=%.0f): accuracy %.4f  NLL %.4f  Brier %.4f  "
             "ECE(15) %.4f",
        predictions.samples, m.accuracy, m.nll, m.brier, m.ece);
  print(log, "test uncertainty (nats, mean): predictive entropy %.4f = aleatoric %.4f + "
             "epistemic %.4f",
        m.mean_entropy, m.mean_aleatoric, m.mean_epistemic);
  print(log, "inference: %.0f image-passes in %.2f s = %.0f image-passes/s",
        double(predictions.count) * predictions.samples, predictions.seconds,
        predictions.count * predictions.samples / predictions.seconds);
}

}  // namespace kbnn
