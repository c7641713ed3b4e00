// The input deck: every setting of a run, read from an INI file with Boost.ProgramOptions
// and overridden from the command line (`--section.option=value` wins over the file).
// Everything is validated here, at the boundary, so the rest of kbnn can trust a RunConfig.
//
// Deck format (see input/*.cfg):
//   [data]     format, dir, train_file, test_file, train_limit, test_limit, shuffle
//   [model]    layer = <kind> key=value ...   (repeated, in order), estimator, prior_sigma, ...
//   [train]    epochs, batch_size, lr, optimizer, kl_schedule, seed, ...
//   [eval]     samples, batch_size
//   [ood]      format, dir, file, limit, shift, name (an OOD set scored against the test set)
//   [output]   dir, name, checkpoint_every, write_predictions
//   [parallel] batch_mode, gpu_aware_mpi, ensemble, ensemble_groups
// `--model.layer` on the command line REPLACES the deck's whole layer list (give it once per
// layer, in order); it does not append, because "the file's layers plus one" is never the
// model anyone means. Within one source a scalar option may be given only once.
#pragma once

#include "core/run_config.hpp"

#include <string>
#include <vector>

namespace kbnn {

// output.name, or when that is empty the stem of deck_path ("input/x.cfg" -> "x");
// "kbnn" if both are empty.
std::string run_name(const RunConfig& config);

// The full resolved deck as INI text: every option, defaults included, layers in order
// and written out with all their keys, and output.name as run_name() (so the run keeps its
// name when the resolved deck is saved under another file name). parse_deck reads it back
// to the same config, except that output.name is then filled in.
std::string resolved_deck(const RunConfig& config);

// The default deck with what each section and option means above it (`kbnn deck`):
// every option at its default, and LeNet-5's layers.
std::string documented_deck();

// Every option the deck parser knows, "section.option", model.layer included.
std::vector<std::string> deck_option_names();

// Checks what only the run can know: the rank count. Throws InputError naming the deck.
void check_deck_for_ranks(const RunConfig& config, int ranks);

// Reads the deck at `path`, then applies argv-style overrides, e.g.
// {"--train.epochs=5", "--data.dir", "/tmp/x"} (both "--k=v" and "--k v").
// Throws InputError naming the file (or "command line"), the option and what was expected.
RunConfig parse_deck(const std::string& path, const std::vector<std::string>& overrides = {});

// Parses a deck held as text (a checkpoint's resolved deck), then applies overrides as
// parse_deck does (kbnn predict and prune: another data set, eval.samples); `where`
// names it in messages. What only matters to training (data.validation_fraction's use)
// is not checked again.
RunConfig parse_deck_text(const std::string& text, const std::string& where,
                          const std::vector<std::string>& overrides = {});

// The OOD set's name in the output: ood.name, else the shift ("noise"), else the last
// part of ood.dir or the stem of ood.file ("mnist") unless that is empty or "ood" (see
// set_name_problem), else "ood_set".
std::string ood_set_name(const RunConfig& config);

// Why `name` cannot name a data set in an output file, as /predictions/<name> and
// /metrics/<name>, said after the option that gave it ("must not be empty: ..."); ""
// if it can. "ood" is kept for /metrics/ood, the OOD scores' separations.
std::string set_name_problem(const std::string& name);

// What a restart must not change, compared between the deck a checkpoint was trained
// with and the deck of the run that resumes it: the model, the seed, the batch and the
// optimizer. Returns "" if they agree, else each difference ("train.seed was 1, the
// deck has 2"), joined by "; ".
std::string restart_mismatch(const RunConfig& trained, const RunConfig& now);

// Parses one layer line: kind first, then key=value tokens. Throws InputError naming the line.
LayerSpec parse_layer(const std::string& line);

}  // namespace kbnn
