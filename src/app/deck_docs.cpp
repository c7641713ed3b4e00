#include "app/deck_docs.hpp"

#include <cstring>

namespace kbnn {

namespace {

struct Doc {
  const char* name;  // "section" or "section.option"
  const char* text;
};

// What `kbnn deck` prints above each section and option. A test requires an entry for
// every option the parser knows (app/deck.cpp, for_each_option, and model.layer).
const Doc docs[] = {
    {"data", "The training and test examples."},
    {"data.format",
     "idx: {train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz] in data.dir (Debian's "
     "dataset-fashion-mnist installs them in the default dir); cifar10: CIFAR-10's binary "
     "batches in data.dir; hdf5: data.train_file and data.test_file, each with the datasets "
     "data.features and data.targets name, the examples along dimension 0."},
    {"data.dir", "Where the idx or cifar10 files are."},
    {"data.train_file",
     "hdf5: the training set's file (required to train with data.format = hdf5; kbnn "
     "predict needs only data.test_file)."},
    {"data.test_file",
     "hdf5: the test set's file (required to train with data.format = hdf5 unless "
     "data.test_fraction; given to kbnn predict, the file to predict on, in place of "
     "the rows data.test_fraction held out)."},
    {"data.train_limit", "Use only the first N training examples; 0 = all."},
    {"data.test_limit", "Use only the first N test examples; 0 = all."},
    {"data.shuffle",
     "global: every rank holds the whole training set and all follow one seeded order per "
     "epoch (the same run on any rank count); local: each rank holds and shuffles its own "
     "1/ranks slice (for sets too big for one node; results depend on the rank count)."},
    {"data.validation_fraction",
     "Hold out the last round(fraction * N) training examples (Keras's validation_split) "
     "for eval.every_epochs and eval.temperature = fit; they are not trained on. 0 = "
     "evaluate on the test set. Needs eval.every_epochs > 0 or eval.temperature = fit."},
    {"data.features",
     "hdf5: the features' dataset: any integer or float type (uint8: pixels, scaled by "
     "1/255, so store small counts as another type); an example of shape [F] is a vector, "
     "[H,W] or [H,W,C] an image; with data.layout = signal, [L] or [L,C] is a signal."},
    {"data.targets",
     "hdf5: the labels' dataset [N] (or [N,1]), integers in [0, classes) (scripts/csv_to_h5.py "
     "--labels numbers a table's classes so), or with a Gaussian "
     "model.likelihood the real targets [N] or [N,T]. The training set's classes (its "
     "num_classes attribute, else its largest label + 1) are the model's; a test or OOD "
     "set may hold some of them, but no label at or beyond them."},
    {"data.layout",
     "hdf5, examples of 3 dimensions: hwc or chw; file = the dataset's layout attribute "
     "(a shape that looks like CHW without either is refused). signal: examples [L] or [L,C] "
     "are signals of L points and C channels (1 x L x C), for conv1d and maxpool1d."},
    {"data.test_fraction",
     "hdf5 without data.test_file: the last round(fraction * N) rows of data.train_file "
     "are the test set; 0 = none."},
    {"data.standardize",
     "true: every feature (and real target) shifted and scaled by the training rows' mean "
     "and standard deviation over all ranks; kbnn predict applies the same, and metrics are "
     "in the targets' own units."},
    {"model", "The network and its posterior."},
    {"model.layer",
     "One line per layer, input to output: conv2d out=C kernel=K [stride=1] [padding=0] "
     "[estimator=...]; dense out=F [estimator=...]; maxpool2d [size=2] [stride=size]; relu; "
     "flatten; on signals (data.layout = signal) conv1d out=C kernel=K [stride=1] "
     "[padding=0] [estimator=...] and maxpool1d [size=2] [stride=size]. "
     "--model.layer on the command line replaces the whole list (give it once per "
     "layer). The default deck's list is LeNet-5 for 28x28 images."},
    {"model.estimator",
     "How a layer without estimator= perturbs its weights: flipout (Wen et al. 2018), "
     "reparam (one draw per batch), local_reparam (Kingma et al. 2015), or deterministic "
     "(plain weights: no noise, no rho, no KL)."},
    {"model.prior_sigma", "The prior N(0, prior_sigma^2) on every Bayesian weight; > 0."},
    {"model.bayesian_bias",
     "true: biases are Bayesian too; false: point estimates with no KL (TFP's default)."},
    {"model.noise",
     "Where the weight noise comes from: philox (kbnn's streams, keyed by seed, step and "
     "layer) or curand (cuRAND's Philox normal stream; computed to the same numbers on CPUs)."},
    {"model.init_mu_stddev", "Initial mu ~ N(0, init_mu_stddev^2)."},
    {"model.init_rho_mean",
     "Initial rho ~ N(init_rho_mean, init_rho_stddev^2); sigma = softplus(rho), so -3 starts "
     "sigma near 0.05."},
    {"model.init_rho_stddev", "See init_rho_mean."},
    {"model.init_bias_stddev", "Initial point biases (or bias mu) ~ N(0, init_bias_stddev^2)."},
    {"model.init_from",
     "MOPED: a finished kbnn run file whose /weights set mu (and the point biases); its "
     "layers must be these. Empty = the random initialisation."},
    {"model.moped_delta",
     "> 0 (e.g. 0.1): sigma = moped_delta * |mu| (at least 1e-5); 0 = off. Needs init_from."},
    {"model.likelihood",
     "categorical (softmax, integer labels); gaussian (real targets: the last layer gives "
     "the means, one learned noise variance per target is added); gaussian_heteroscedastic "
     "(the last layer gives a mean and a log-variance per target)."},
    {"train", "The optimisation."},
    {"train.epochs",
     "Passes over the training set. A restart continues up to this total (not this many "
     "more): raise it to train a finished run further."},
    {"train.batch_size",
     "The global batch, split over the ranks (parallel.batch_mode = per_rank: per rank)."},
    {"train.lr", "The learning rate (its peak with a schedule); > 0."},
    {"train.optimizer", "adam, or sgd (with train.momentum)."},
    {"train.momentum", "sgd only: the momentum, in [0, 1); 0 = plain SGD."},
    {"train.adam_beta1", "adam: decay of the first moment."},
    {"train.adam_beta2", "adam: decay of the second moment."},
    {"train.adam_epsilon", "adam: added to the root of the second moment."},
    {"train.clip_norm",
     "> 0: the gradient (data term and KL) is scaled down to this L2 norm when it exceeds "
     "it, before the optimizer's step (torch's clip_grad_norm_); 0 = no clipping."},
    {"train.seed",
     "Initial values, weight noise, Flipout signs and the shuffle are keyed by it: same seed, "
     "same run."},
    {"train.kl_schedule",
     "beta in loss = NLL + beta KL / N_train: constant (kl_beta), linear (warm-up over "
     "kl_warmup_epochs) or cyclical (kl_cycles cycles rising over kl_ratio of each)."},
    {"train.kl_beta", "The constant beta, and the top of the other schedules; >= 0."},
    {"train.kl_warmup_epochs", "linear: epochs until beta reaches kl_beta."},
    {"train.kl_cycles", "cyclical: cycles over the run."},
    {"train.kl_ratio", "cyclical: the fraction of each cycle spent rising, in (0, 1]."},
    {"train.lr_warmup_epochs",
     "A linear warm-up of the rate over this many epochs (from 0, or from the one-rank rate "
     "in per_rank mode); 0 = none. Default: 5 with batch_mode = per_rank, else 0."},
    {"train.lr_schedule",
     "constant; cosine (down to lr_decay_factor * lr over lr_decay_epochs, 0 = the whole "
     "run); step (times lr_decay_factor every lr_decay_epochs)."},
    {"train.lr_decay_epochs", "See lr_schedule."},
    {"train.lr_decay_factor", "See lr_schedule; in [0, 1]."},
    {"train.log_every", "A progress line and a history row every this many steps."},
    {"train.max_steps", "Stop after this many optimizer steps; 0 = no limit."},
    {"train.early_stop",
     "> 0: training ends after this many evaluations in a row (eval.every_epochs apart, on "
     "the data.validation_fraction rows) without a lower validation NLL, and the run keeps "
     "the best evaluation's model (<run name>.best.h5 while training); 0 = train every "
     "epoch and keep the last model."},
    {"train.shuffle", "A new random order of the training examples each epoch."},
    {"eval", "The Monte-Carlo predictive: after training and during it."},
    {"eval.samples", "Monte-Carlo forward passes per prediction."},
    {"eval.batch_size", "Examples per forward pass in evaluation."},
    {"eval.every_epochs",
     "> 0: every this many epochs, the predictive on the validation examples (or else the "
     "test set): an eval line and a row of /history/eval. 0 = only the final evaluation."},
    {"eval.temperature",
     "The predictive's temperature T: each Monte-Carlo pass gives softmax(logits / T) to the "
     "predictive's probabilities. 1 = the network as trained; T > 1 softens, T < 1 "
     "sharpens. The entropies, their aleatoric / epistemic split and the entropy and "
     "mutual-information OOD scores stay those of the untempered passes. fit: after "
     "training, the T that minimises the NLL of the predictive (an ensemble's: the "
     "mixture's) on the validation examples (needs data.validation_fraction > 0), stored "
     "in /calibration and used for the test and OOD sets and by kbnn predict and prune. "
     "Training never sees it. T is searched in [1/20, 20]; a fit at an end is warned of."},
    {"ood",
     "An out-of-distribution set scored against the test set after training (and by kbnn "
     "predict): either ood.format with ood.dir (or ood.file), or ood.shift. Options given "
     "without either are an error."},
    {"ood.format", "idx, cifar10 or hdf5: the test split of another data set. Empty = none."},
    {"ood.dir", "idx, cifar10: where its files are (scripts/get_ood_data.sh writes MNIST)."},
    {"ood.file", "hdf5: its file, with datasets images and labels."},
    {"ood.limit", "Use only its first N examples; 0 = all."},
    {"ood.shift", "noise, invert or rot90: the test set under that shift; none = no shift."},
    {"ood.name",
     "Its name in the output; empty = the shift, or the last part of ood.dir / ood.file "
     "(ood_set where that would be ood). "
     "Not ood (/metrics/ood), nor test in training (the test set's)."},
    {"output", "The run file <dir>/<name>.h5 and its checkpoints <dir>/<name>.checkpoint.h5."},
    {"output.dir", "Where the run's files go; created if missing."},
    {"output.name", "The run's name (no '/'); empty = the deck's file name without .cfg."},
    {"output.checkpoint_every",
     "A checkpoint every this many steps (a multiple of train.log_every); 0 = only at the "
     "end or when a signal stops the run."},
    {"output.write_predictions", "Store every test example's predictive in /predictions/test."},
    {"output.overwrite",
     "true: a fresh run replaces a finished run file of the same name; false: it refuses "
     "(kbnn train --restart continues one instead)."},
    {"parallel", "MPI."},
    {"parallel.batch_mode",
     "global: train.batch_size is the global batch (the same run on any rank count); "
     "per_rank: Horovod's convention, batch_size per rank and lr times the ranks."},
    {"parallel.gpu_aware_mpi",
     "true only with a GPU-aware MPI: device buffers go to MPI without host copies."},
    {"parallel.ensemble",
     "An ensemble of this many independently trained models; 1 = one model. Member k's "
     "seed is train.seed + k * 0x9E3779B97F4A7C15 (mod 2^64), so member 0 is this deck's "
     "single model; predictions are the mixture over members x samples; its files go to "
     "<dir>/<name>.members/."},
    {"parallel.ensemble_groups",
     "The rank groups an ensemble's members train in, concurrently, each group its members "
     "one after another; 0 = one group per member as far as the ranks go."},
    {"debug", "Aids for finding bugs; off by default."},
    {"debug.dump_steps",
     "Record the first N training steps (batches, noise, losses, gradients, parameters) in "
     "debug.dump_file, which tests/scripts/torch_replay.py replays; 0 = off."},
    {"debug.dump_file", "The HDF5 file of debug.dump_steps."},
};

}  // namespace

const char* deck_doc(const std::string& name) {
  for (const Doc& d : docs)
    if (name == d.name) return d.text;
  return nullptr;
}

std::vector<std::string> documented_names() {
  std::vector<std::string> names;
  for (const Doc& d : docs) names.emplace_back(d.name);
  return names;
}

}  // namespace kbnn
