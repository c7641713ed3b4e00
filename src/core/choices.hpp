// The choices an input deck makes, as enums, each with the words the deck uses for it.
// The deck parses words into these at the boundary (app/deck.cpp); everything below
// it compares enums, never strings. One table per enum serves parsing, messages
// ("one of flipout, reparam") and writing the resolved deck back.
#pragma once

#include <cstddef>
#include <string>

namespace kbnn {

// A line of the model (`model.layer = <kind> key=value ...`; model/build_model.hpp).
// conv1d and maxpool1d take signals (1 x L x C; layers/signal_shape.hpp).
enum class LayerKind { conv2d, dense, relu, maxpool2d, flatten, conv1d, maxpool1d };
// How a data set is stored: IDX files (MNIST's, .gz or plain) or CIFAR-10 .bin files in
// a directory, or an HDF5 file of images and labels (data/dataset.hpp).
enum class DataFormat { idx, cifar10, hdf5 };
// How an HDF5 data set's 3-D examples are laid out: as the dataset's `layout` attribute
// says (HWC without one), or HWC / CHW as the deck says; or signal: examples of shape
// (L) or (L, C) are signals 1 x L x C (data/hdf5_dataset.hpp).
enum class DataLayout { file, hwc, chw, signal };
// The data term of the ELBO (docs/design.md, "Regression"): softmax over classes, or a
// Gaussian over real targets with one learned noise variance per target (gaussian) or
// a variance per example from the last layer (gaussian_heteroscedastic).
enum class Likelihood { categorical, gaussian, gaussian_heteroscedastic };
// The weight estimator of a Bayesian layer (docs/design.md, "Estimators");
// deterministic is the plain layer (point weights, no noise, no KL).
enum class Estimator { reparam, flipout, local_reparam, deterministic };
// Where weight noise comes from: our Philox streams, or cuRAND's normal stream.
enum class NoiseSource { philox, curand };
enum class OptimizerKind { adam, sgd };
// beta_t of the KL term (train/kl_schedule.hpp).
enum class KlSchedule { constant, linear, cyclical };
// The learning rate's decay after any warm-up (train/lr_schedule.hpp).
enum class LrSchedule { constant, cosine, step };
// global: train.batch_size is the global batch; per_rank: Horovod's, per rank.
enum class BatchMode { global, per_rank };
// global: every rank holds the training set; local: each its own partition.
enum class ShuffleScope { global, local };
// A synthetic distribution shift of a data set (data/shift.hpp), for OOD sets.
enum class DataShift { none, noise, invert, rot90 };
// How prediction spreads over ranks (uq/evaluate.hpp): ranks split the examples or
// the Monte-Carlo samples.
enum class PredictSplit { examples, samples };

template <class Enum>
struct Choice {
  const char* word;
  Enum value;
};

// ChoiceTable<Enum>::entries lists every value with its deck word.
template <class Enum>
struct ChoiceTable;

template <>
struct ChoiceTable<LayerKind> {
  static constexpr Choice<LayerKind> entries[] = {{"conv2d", LayerKind::conv2d},
                                                  {"dense", LayerKind::dense},
                                                  {"relu", LayerKind::relu},
                                                  {"maxpool2d", LayerKind::maxpool2d},
                                                  {"flatten", LayerKind::flatten},
                                                  {"conv1d", LayerKind::conv1d},
                                                  {"maxpool1d", LayerKind::maxpool1d}};
};
template <>
struct ChoiceTable<DataFormat> {
  static constexpr Choice<DataFormat> entries[] = {{"idx", DataFormat::idx},
                                                   {"cifar10", DataFormat::cifar10},
                                                   {"hdf5", DataFormat::hdf5}};
};
template <>
struct ChoiceTable<DataLayout> {
  static constexpr Choice<DataLayout> entries[] = {{"file", DataLayout::file},
                                                   {"hwc", DataLayout::hwc},
                                                   {"chw", DataLayout::chw},
                                                   {"signal", DataLayout::signal}};
};
template <>
struct ChoiceTable<Likelihood> {
  static constexpr Choice<Likelihood> entries[] = {
      {"categorical", Likelihood::categorical},
      {"gaussian", Likelihood::gaussian},
      {"gaussian_heteroscedastic", Likelihood::gaussian_heteroscedastic}};
};
template <>
struct ChoiceTable<Estimator> {
  static constexpr Choice<Estimator> entries[] = {{"flipout", Estimator::flipout},
                                                  {"reparam", Estimator::reparam},
                                                  {"local_reparam", Estimator::local_reparam},
                                                  {"deterministic", Estimator::deterministic}};
};
template <>
struct ChoiceTable<NoiseSource> {
  static constexpr Choice<NoiseSource> entries[] = {{"philox", NoiseSource::philox},
                                                    {"curand", NoiseSource::curand}};
};
template <>
struct ChoiceTable<OptimizerKind> {
  static constexpr Choice<OptimizerKind> entries[] = {{"adam", OptimizerKind::adam},
                                                      {"sgd", OptimizerKind::sgd}};
};
template <>
struct ChoiceTable<KlSchedule> {
  static constexpr Choice<KlSchedule> entries[] = {{"constant", KlSchedule::constant},
                                                   {"linear", KlSchedule::linear},
                                                   {"cyclical", KlSchedule::cyclical}};
};
template <>
struct ChoiceTable<LrSchedule> {
  static constexpr Choice<LrSchedule> entries[] = {{"constant", LrSchedule::constant},
                                                   {"cosine", LrSchedule::cosine},
                                                   {"step", LrSchedule::step}};
};
template <>
struct ChoiceTable<BatchMode> {
  static constexpr Choice<BatchMode> entries[] = {{"global", BatchMode::global},
                                                  {"per_rank", BatchMode::per_rank}};
};
template <>
struct ChoiceTable<ShuffleScope> {
  static constexpr Choice<ShuffleScope> entries[] = {{"global", ShuffleScope::global},
                                                     {"local", ShuffleScope::local}};
};

template <>
struct ChoiceTable<DataShift> {
  static constexpr Choice<DataShift> entries[] = {{"none", DataShift::none},
                                                  {"noise", DataShift::noise},
                                                  {"invert", DataShift::invert},
                                                  {"rot90", DataShift::rot90}};
};
template <>
struct ChoiceTable<PredictSplit> {
  static constexpr Choice<PredictSplit> entries[] = {{"examples", PredictSplit::examples},
                                                     {"samples", PredictSplit::samples}};
};

// The deck word of a value ("flipout").
template <class Enum>
const char* word_of(Enum value) {
  for (const auto& c : ChoiceTable<Enum>::entries)
    if (c.value == value) return c.word;
  return "?";
}

// Sets `out` from a deck word; false if the word names no value.
template <class Enum>
bool parse_choice(const std::string& word, Enum& out) {
  for (const auto& c : ChoiceTable<Enum>::entries) {
    if (word == c.word) {
      out = c.value;
      return true;
    }
  }
  return false;
}

// "flipout, reparam": the words, for messages.
template <class Enum>
std::string choice_words() {
  std::string words;
  for (const auto& c : ChoiceTable<Enum>::entries) words += (words.empty() ? "" : ", ") + std::string(c.word);
  return words;
}

}  // namespace kbnn
