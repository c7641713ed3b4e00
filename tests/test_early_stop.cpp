// train.early_stop's decision (train/early_stop.hpp) from an evaluation history: the
// best is the first strictly lowest NLL, a NaN is never one, the count runs from it, and
// a restart whose best model is lost watches its own evaluations only.
#include <cmath>
#include <limits>
#include <vector>

#include "catch.hpp"
#include "train/early_stop.hpp"

namespace {

std::vector<kbnn::EvalRow> history(const std::vector<double>& nlls) {
  std::vector<kbnn::EvalRow> rows;
  for (std::size_t i = 0; i < nlls.size(); ++i)
    rows.push_back(kbnn::EvalRow{std::int64_t(10 * (i + 1)), double(i + 1), 0.5, nlls[i], 0, 0});
  return rows;
}

}  // namespace

TEST_CASE("early stop: the best evaluation and the evaluations since", "[train]") {
  const kbnn::EarlyStopState none = kbnn::early_stop_state({});
  CHECK(none.best_step == -1);
  CHECK(none.since_best == 0);
  CHECK_FALSE(kbnn::early_stop_due(none, 1));

  const double nan = std::numeric_limits<double>::quiet_NaN();
  const auto rows = history({1.0, 0.9, 0.95, 0.9, nan});
  const kbnn::EarlyStopState s = kbnn::early_stop_state(rows);
  CHECK(s.best_step == 20);  // the first 0.9: a tie is no improvement
  CHECK(s.best_epoch == 2);
  CHECK(s.best_nll == 0.9);
  CHECK(s.since_best == 3);  // 0.95, the tie, the NaN
  CHECK(kbnn::early_stop_due(s, 3));
  CHECK_FALSE(kbnn::early_stop_due(s, 4));
  CHECK_FALSE(kbnn::early_stop_due(s, 0));  // off

  // A NaN first, then a number: the number is the best.
  CHECK(kbnn::early_stop_state(history({nan, 2.0})).best_step == 20);
  // Watching from the fourth evaluation on: the second 0.9 is the best there.
  const kbnn::EarlyStopState later = kbnn::early_stop_state(rows, 3);
  CHECK(later.best_step == 40);
  CHECK(later.since_best == 1);
  CHECK(kbnn::early_stop_state(rows, rows.size()).best_step == -1);
}
