// `kbnn prune`: removes the Bayesian weights of lowest signal-to-noise ratio from a
// trained run, for several fractions, and measures what each costs on the test split
// (uq/snr_pruning.hpp). Each pruned model is also written as a checkpoint, so that
// `kbnn train DECK --restart FILE --train.epochs=N` fine-tunes it with its mask kept.
#pragma once

#include "parallel/communicator.hpp"
#include "uq/snr_pruning.hpp"

#include <iosfwd>
#include <string>
#include <vector>

namespace kbnn {

struct PruneOptions {
  std::string run;                    // a run file or checkpoint (it carries its deck)
  std::vector<double> fractions;      // each in [0, 1); 0 (the unpruned model) is added
  PruneScope scope = PruneScope::global;  // README, "Pruning": the one to use
  std::string output;                 // the pruning file; "" -> <run stem>.pruning.h5 beside it
  bool checkpoints = true;            // write <output stem>.pruned_<fraction>.h5 per fraction
  std::vector<std::string> overrides;  // --data.*, --eval.*, --ood.* for the run's deck
};

// Parses "0.5,0.8,0.9": each a number in [0, 1). Throws InputError naming the bad entry.
std::vector<double> parse_fractions(const std::string& text);

// Collective over `comm`. Writes the pruning file (and the checkpoints); reports to `log`.
void run_prune(const PruneOptions& options, Communicator& comm, std::ostream& log);

}  // namespace kbnn
