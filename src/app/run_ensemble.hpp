// `kbnn train` with parallel.ensemble = K > 1 (docs/design.md, "Ensembles"): K
// independently trained members over rank groups, then their mixture's predictive.
//
//   1. The ranks split into G groups (parallel/rank_groups.hpp; G = parallel.
//      ensemble_groups, or min(K, ranks)). Group g trains members g, g + G, ... one after
//      another, each a whole single-model run (run_train) on the group's communicator:
//      its own seed, the whole training set, its own gradient allreduce, its own run
//      file and checkpoints in <output.dir>/<run>.members/. No message crosses groups.
//   2. All ranks meet (the only world collectives before the end): errors a group agreed
//      on become everyone's, and a member stopped by a signal stops the ensemble (exit
//      75) after the other groups finish their current member.
//   3. Every rank reads the members back one at a time and the mixture over members x
//      samples is evaluated on the test and OOD sets, ranks splitting the examples; the
//      ensemble's run file <run>.h5 gets it, and then every member's run file
//      (/members/<k>, output/ensemble_file.hpp).
//
// Member k's seed is member_seed(train.seed, k), so member 0 is the single model of the
// same deck, and member k is exactly `kbnn train` with --train.seed=member_seed(seed, k)
// on its group's ranks. `--restart auto` resumes each member as a single run resumes
// (choose_start: the later of its checkpoint file and its finished run file), bit for bit
// on the same group size.
#pragma once

#include "app/run_train.hpp"

#include <cstdint>
#include <iosfwd>
#include <string>

namespace kbnn {

// seed + k * 0x9E3779B97F4A7C15 (mod 2^64, the golden-ratio increment of SplitMix64):
// member 0 keeps the deck's seed; ensembles of nearby seeds share no member.
std::uint64_t member_seed(std::uint64_t seed, int member);

// Member k's deck: the ensemble's with train.seed = member_seed(seed, k), output.dir =
// <output.dir>/<run>.members, output.name = member_<k>, and parallel.ensemble = 1.
RunConfig member_config(const RunConfig& config, int member);

// Collective over `comm`: run_train for one model, run_ensemble for parallel.ensemble > 1.
RunOutcome run_training(const RunConfig& config, Communicator& comm, const TrainOptions& options,
                        std::ostream& log);

// A fresh ensemble refuses, before any member trains, to replace a finished ensemble's
// run file or a finished or stopped member's (unless output.overwrite); --restart FILE
// is refused (it names no member). Outcomes: finished; stopped (a member is not done:
// the stop's message ends with options.continue_command); up_to_date (--restart auto on
// a finished ensemble whose every member is at its last step: nothing rewritten);
// checked (--dry-run: every member's run_train checked it on its group).
RunOutcome run_ensemble(const RunConfig& config, Communicator& comm, const TrainOptions& options,
                        std::ostream& log);

}  // namespace kbnn
