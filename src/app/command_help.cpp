#include "app/command_help.hpp"

#include <string>

namespace kbnn {

namespace {

struct Command {
  const char* name;
  const char* synopsis;  // the usage lines
  const char* details;   // what it does, its options, what it writes
};

const Command commands[] = {
    {"train",
     "usage: kbnn train DECK [--restart CHECKPOINT|auto [--restart-force]] [--dry-run]\n"
     "                  [--section.option=value ...]\n",
     "\n"
     "Trains the model of the input deck DECK (an INI file: input/*.cfg, or `kbnn deck`\n"
     "for one with every option documented) on all MPI ranks, writes\n"
     "<output.dir>/<run name>.h5 and reports Monte-Carlo test metrics.\n"
     "\n"
     "options:\n"
     "  --section.option=value   override a deck option: --train.epochs=5 --eval.samples=20\n"
     "  --restart FILE           continue from a checkpoint: <run name>.checkpoint.h5, a run\n"
     "                           file, or a pruned model of kbnn prune. Refused when the\n"
     "                           checkpoint has reached train.epochs (raise it to go on) or\n"
     "                           was trained with another model, seed, batch or optimizer\n"
     "  --restart auto           continue from <output.dir>/<run name>.checkpoint.h5 if it\n"
     "                           exists, else start fresh; a run that has finished is left\n"
     "                           as it is (exit 0), so a job script can always pass it\n"
     "  --restart-force          continue from a checkpoint of another model, seed, batch\n"
     "                           or optimizer\n"
     "  --dry-run                check the deck and the data, print the model summary and\n"
     "                           the resolved deck; train nothing, write nothing\n"
     "  --kokkos-...             Kokkos' options (kbnn --kokkos-help lists them)\n"
     "\n"
     "A finished run's file is not overwritten unless output.overwrite = true.\n"
     "SIGTERM or SIGUSR1 stops the run after the current step on every rank with a\n"
     "checkpoint; it prints the command that continues the run.\n"
     "Exit status: 0 finished (or nothing left to do), 75 stopped by a signal with a\n"
     "checkpoint, 1 an error, 2 a bad command line.\n"},
    {"predict",
     "usage: kbnn predict MODEL [--output FILE] [--set-name NAME] [--split examples|samples]\n"
     "                    [--sample-probabilities] [--data.*=...] [--eval.*=...] [--ood.*=...]\n",
     "\n"
     "Monte-Carlo prediction with the model of a run file or checkpoint MODEL (it carries\n"
     "its deck and weights) on the test split of the data its deck names. Every input is\n"
     "read and checked before the first Monte-Carlo pass.\n"
     "\n"
     "options:\n"
     "  --output FILE            the prediction file (default MODEL.predict.h5); it\n"
     "                           replaces an earlier one, never MODEL or another kind\n"
     "                           of file\n"
     "  --set-name NAME          the set's name in it: /predictions/NAME, /metrics/NAME\n"
     "                           (default test; not ood, which names /metrics/ood)\n"
     "  --split examples|samples what the ranks split (identical numbers either way)\n"
     "  --sample-probabilities   also write probs_samples (S, N, classes)\n"
     "  --data.format=, --data.dir=, --data.test_file=, --data.test_limit=\n"
     "                           another data set than the deck's\n"
     "  --eval.samples=S, --eval.batch_size=B\n"
     "                           Monte-Carlo passes and rows per pass\n"
     "  --ood.format= with --ood.dir= (idx, cifar10) or --ood.file= (hdf5), or\n"
     "  --ood.shift=noise|invert|rot90; --ood.limit=, --ood.name=\n"
     "                           an OOD set scored against the predicted one:\n"
     "                           /metrics/ood/<name>, AUROC and AUPR of each score\n"},
    {"prune",
     "usage: kbnn prune RUN_FILE --fractions=F1,F2,... [--scope=global|layer]\n"
     "                  [--output=FILE] [--no-checkpoints] [--data.*=...] [--eval.*=...]\n"
     "                  [--ood.*=...]\n",
     "\n"
     "Removes each fraction F of the Bayesian kernel weights with the lowest |mu|/sigma\n"
     "from a trained run (a run file or checkpoint) and reports each pruned model's test\n"
     "metrics (and OOD AUROC with an [ood] set) in <run>.pruning.h5. A run without\n"
     "Bayesian weights is refused.\n"
     "\n"
     "options (--name=value or --name value):\n"
     "  --fractions=F1,F2,...    fractions in [0, 1) (0, the unpruned model, is added)\n"
     "  --scope=global           rank all layers' weights together (the default: small\n"
     "                           layers keep the weights they cannot spare)\n"
     "  --scope=layer            remove F of every layer's weights\n"
     "  --output=FILE            the pruning file (default <run>.pruning.h5); it and\n"
     "                           its checkpoints replace earlier ones, never RUN or\n"
     "                           another kind of file\n"
     "  --no-checkpoints         do not write <output>.pruned_F.h5 per fraction (each one\n"
     "                           fine-tunes with kbnn train DECK --restart FILE)\n"
     "  --data.*, --eval.*, --ood.*   change the run's deck as kbnn predict does\n"},
    {"info",
     "usage: kbnn info FILE [--deck]     (or kbnn info --deck FILE)\n",
     "\n"
     "Summarises any file kbnn writes: a finished or stopped run file, a checkpoint, a\n"
     "pruning file, a pruned model, a prediction file, a step dump (debug.dump_file). It\n"
     "names the kind, then what the file holds: the model (layers, output shapes,\n"
     "estimators, weights, FLOPs), the last history rows and evaluation, test and OOD\n"
     "metrics, the pruning table, and where to resume from. --deck also prints the\n"
     "resolved deck. A file that is not kbnn's is refused with one line (exit 1).\n"},
    {"deck",
     "usage: kbnn deck\n",
     "\n"
     "Prints the default input deck: every option with its default value and what it\n"
     "means. `kbnn deck > my.cfg` is a deck to start from.\n"},
};

const Command* find(const std::string& name) {
  for (const Command& c : commands)
    if (name == c.name) return &c;
  return nullptr;
}

}  // namespace

std::string overview_help() {
  std::string text;
  // One usage block: "usage:" once, the other commands' lines aligned under it.
  for (const Command& c : commands)
    text += text.empty() ? c.synopsis : "      " + std::string(c.synopsis).substr(6);
  return text +
         "       kbnn help [COMMAND] | kbnn COMMAND --help | kbnn --version | kbnn --kokkos-help\n"
         "\n"
         "  train    train the model of an input deck on all MPI ranks\n"
         "  predict  Monte-Carlo predictions of a trained model, with an OOD set\n"
         "  prune    remove the weights of lowest |mu|/sigma and score what is left\n"
         "  info     summarise any file kbnn writes\n"
         "  deck     print the default input deck with every option documented\n"
         "  help     kbnn help COMMAND: the command's usage and options\n"
         "Kokkos' options (--kokkos-num-threads=N, --kokkos-threads=N before Kokkos 4, ...)\n"
         "may follow any command; --kokkos-help lists them.\n";
}

const char* command_help(const std::string& name) {
  static std::string texts[sizeof commands / sizeof commands[0]];
  const Command* c = find(name);
  if (c == nullptr) return nullptr;
  std::string& text = texts[c - commands];
  if (text.empty()) text = std::string(c->synopsis) + c->details;
  return text.c_str();
}

std::string command_synopsis(const std::string& name) {
  const Command* c = find(name);
  if (c == nullptr) return overview_help();
  return std::string(c->synopsis) + "(kbnn help " + name + " for its options)\n";
}

}  // namespace kbnn
