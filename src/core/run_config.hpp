// Every setting of a run as plain data: what the input deck says, after parsing and
// validation (app/deck.hpp reads decks into it; nothing here knows about Boost or INI
// files). Choices are enums (core/choices.hpp); the rest of kbnn trusts these values.
#pragma once

#include "core/choices.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace kbnn {

// One line of the model: "conv2d out=6 kernel=5 padding=2 estimator=flipout".
struct LayerSpec {
  LayerKind kind = LayerKind::dense;
  int out = 0;               // conv1d/conv2d: output channels; dense: output features
  int kernel = 0;            // conv2d: square kernel size; conv1d: its length
  int stride = 1;            // conv1d/conv2d stride; maxpool1d/maxpool2d: defaults to size
  int padding = 0;           // conv1d/conv2d zero padding on each side (conv1d: of L only)
  int size = 2;              // maxpool2d window (size x size); maxpool1d: its length
  std::optional<Estimator> estimator;  // conv1d/conv2d/dense; unset -> model.estimator
                                       // (parse_deck fills it in: a parsed deck always has one)
  std::string text;          // the original line, for messages and the resolved deck

  // conv1d, conv2d and dense: the layers with weights, an estimator and out=.
  bool has_weights() const { return is_convolution() || kind == LayerKind::dense; }
  bool is_convolution() const { return kind == LayerKind::conv1d || kind == LayerKind::conv2d; }
  bool is_pooling() const { return kind == LayerKind::maxpool1d || kind == LayerKind::maxpool2d; }
};

struct DataConfig {
  DataFormat format = DataFormat::idx;
  std::string dir = "/usr/share/datasets/fashion-mnist";  // idx, cifar10: where the files are
  // hdf5 only: the training file (required) and the test file (or test_fraction); dir
  // is not used with hdf5.
  std::string train_file;
  std::string test_file;
  // hdf5: the datasets holding the features (any numeric type; uint8 is scaled by
  // 1/255, anything else is read as float) and the targets (integer labels, or real
  // values with a Gaussian model.likelihood), each with the examples along dimension 0.
  std::string features = "images";
  std::string targets = "labels";
  // 3-D examples: the file's `layout` attribute, hwc, chw; signal: (L) or (L, C) examples
  DataLayout layout = DataLayout::file;
  // hdf5 without test_file: the last round(test_fraction * N) rows of train_file are
  // the test set (before train_limit, test_limit and validation_fraction apply).
  double test_fraction = 0;
  // Features (and real targets) shifted and scaled by the training rows' mean and
  // standard deviation (data/standardize.hpp); stored with the run for kbnn predict.
  bool standardize = false;
  // Not a deck option: set from model.likelihood, whether the targets are real values.
  bool real_targets = false;
  // Not a deck option: an OOD set's (HDF5) labels, never used, may be missing.
  bool labels_optional = false;
  std::int64_t train_limit = 0;                        // first N examples only; 0 = all
  std::int64_t test_limit = 0;                         // 0 = all
  // How the training set is spread over MPI ranks and shuffled (if train.shuffle):
  //   global: every rank holds the whole training set and applies the same seeded global
  //           permutation each epoch, so results do not depend on the rank count;
  //   local:  each rank keeps only its contiguous 1/ranks partition and shuffles it itself
  //           (for sets too big for one node; results depend on the rank count).
  ShuffleScope shuffle = ShuffleScope::global;
  // > 0: the last round(fraction * N) training examples (after train_limit; Keras's
  // validation_split) are held out, never trained on, and evaluated every
  // eval.every_epochs. The same rows on any rank count.
  double validation_fraction = 0;
};

struct ModelConfig {
  std::vector<LayerSpec> layers;
  Estimator estimator = Estimator::flipout;  // default for layer lines with weights that name none
  double prior_sigma = 1.0;            // prior N(0, prior_sigma^2) on every Bayesian weight
  bool bayesian_bias = false;          // false: point-estimate biases with no KL (TFP default)
  // Weight noise: philox (our Philox streams, keyed by seed, step and layer) or
  // curand (cuRAND's Philox4_32_10 normal stream: filled in bulk by cuRAND's device
  // generator on CUDA builds, computed to the same numbers by a kernel elsewhere).
  NoiseSource noise = NoiseSource::philox;
  double init_mu_stddev = 0.1;         // mu ~ N(0, init_mu_stddev^2)
  double init_rho_mean = -3.0;         // rho ~ N(init_rho_mean, init_rho_stddev^2)
  double init_rho_stddev = 0.1;
  double init_bias_stddev = 0.1;       // point biases (or bias mu) ~ N(0, init_bias_stddev^2)
  // MOPED (model/init_from_run.hpp): mu (and point parameters) from a kbnn run file's
  // /weights, deterministic or Bayesian; empty = the random initialisation above.
  std::string init_from;
  double moped_delta = 0;              // > 0: sigma = moped_delta * |mu| (needs init_from)
  // The data term: categorical (classes, softmax) or a Gaussian over real targets.
  Likelihood likelihood = Likelihood::categorical;
  bool regression() const { return likelihood != Likelihood::categorical; }
};

struct TrainConfig {
  int epochs = 1;
  std::int64_t batch_size = 128;       // see parallel.batch_mode: global (default) or per rank
  double lr = 1e-3;
  OptimizerKind optimizer = OptimizerKind::adam;
  double momentum = 0.9;               // sgd only
  double adam_beta1 = 0.9, adam_beta2 = 0.999, adam_epsilon = 1e-8;
  // > 0: the gradient (data term and KL) scaled to this global L2 norm when it exceeds it,
  // before the optimizer's step (train/clip_gradient_norm.hpp); 0 = no clipping.
  double clip_norm = 0;
  std::uint64_t seed = 0;
  KlSchedule kl_schedule = KlSchedule::constant;
  double kl_beta = 1.0;        // the constant value, and the maximum of the others
  int kl_warmup_epochs = 5;    // linear: beta = kl_beta * min(1, epoch / kl_warmup_epochs)
  int kl_cycles = 4;           // cyclical (Liu et al. 2019): M cycles over the run
  double kl_ratio = 0.5;       // cyclical: fraction R of each cycle spent increasing
  // The learning rate of each step (train/lr_schedule.hpp): a linear warm-up over
  // lr_warmup_epochs (0 = none; the deck's default is 5 in per_rank mode, 0 in global),
  // times the decay lr_schedule: constant, cosine (to lr_decay_factor * lr over
  // lr_decay_epochs, 0 = the whole run) or step (times lr_decay_factor every
  // lr_decay_epochs).
  double lr_warmup_epochs = 0;
  LrSchedule lr_schedule = LrSchedule::constant;
  double lr_decay_epochs = 0;
  double lr_decay_factor = 0.1;
  int log_every = 100;         // steps between progress lines / history rows
  std::int64_t max_steps = 0;  // stop after this many optimizer steps; 0 = no limit
  // > 0: training ends after this many evaluations in a row without a new lowest
  // validation NLL, and the run keeps the best evaluation's model (train/early_stop.hpp).
  int early_stop = 0;
  bool shuffle = true;
};

// The temperature T of the predictive: every Monte-Carlo pass gives softmax(logits / T)
// (uq/temperature.hpp). A fixed T > 0 (1: the network as trained), or fitted after
// training to the validation examples' NLL ("fit" in the deck).
struct Temperature {
  bool fit = false;
  double value = 1;  // the fixed T; with fit, 1 until fitted
  bool operator==(const Temperature& o) const { return fit == o.fit && value == o.value; }
};

struct EvalConfig {
  int samples = 10;                // Monte-Carlo forward passes per prediction
  std::int64_t batch_size = 1000;
  // > 0: every this many epochs, the MC predictive on the validation part of the
  // training set (data.validation_fraction > 0) or else on the test set: /history/eval.
  int every_epochs = 0;
  Temperature temperature;
};

// An out-of-distribution set, scored against the test set at the end of training and
// by `kbnn predict` (uq/ood.hpp): the test split of another data set, or the test set
// itself under a synthetic shift.
struct OodConfig {
  std::optional<DataFormat> format;   // unset (empty in the deck) = no OOD set; else its test split
  std::string dir;                    // idx, cifar10: where its files are
  std::string file;                   // hdf5: a file with datasets images and labels
  std::int64_t limit = 0;             // first N examples only; 0 = all
  DataShift shift = DataShift::none;  // noise | invert | rot90: the test set, shifted
  std::string name;                   // its name in the output; "" = ood_set_name()
  bool enabled() const { return shift != DataShift::none || format.has_value(); }
};

struct OutputConfig {
  std::string dir = ".";          // where the run file and checkpoints go (created if missing)
  std::string name;               // run name (file stem); empty -> run_name() uses the deck's
  int checkpoint_every = 0;       // steps between checkpoints; 0 = only at the end.
                                  // Must be a multiple of train.log_every.
  bool write_predictions = true;  // write /predictions/test into the run file
  bool overwrite = false;         // a fresh run may replace a finished run's file
};

struct ParallelConfig {
  // global:   train.batch_size is the global batch, split over the ranks (rank-count invariant);
  // per_rank: the Horovod convention: train.batch_size per rank, so the global batch is
  //           batch_size * ranks, and train.lr is scaled by the number of ranks.
  BatchMode batch_mode = BatchMode::global;
  bool gpu_aware_mpi = false;     // hand device pointers to MPI (only with a GPU-aware MPI)
  // An ensemble of `ensemble` independently trained members (app/run_ensemble.hpp): the
  // ranks split into `ensemble_groups` groups (0 = min(ensemble, ranks)), each training
  // its members one after another, member k with seed member_seed(train.seed, k) on
  // the whole training set. 1 = one model, as without the option.
  int ensemble = 1;
  int ensemble_groups = 0;
};

// Debugging aids, off by default.
struct DebugConfig {
  std::int64_t dump_steps = 0;  // record the first N training steps (train/step_dump.hpp)
  std::string dump_file;        // into this HDF5 file
};

struct RunConfig {
  std::string deck_path;   // the file it came from (not an option; not in resolved_text)
  DataConfig data;
  ModelConfig model;
  TrainConfig train;
  EvalConfig eval;
  OodConfig ood;
  OutputConfig output;
  ParallelConfig parallel;
  DebugConfig debug;

};

}  // namespace kbnn
