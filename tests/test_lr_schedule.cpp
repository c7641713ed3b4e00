// The learning-rate schedules (train/lr_schedule.hpp) at chosen steps, against values
// worked out by hand from the definitions in the header: warm-up in both batch modes,
// cosine and step decay, their product, and how spans of epochs round to steps.
#include "catch.hpp"

#include "train/lr_schedule.hpp"

#include <cmath>

namespace {

// lr 0.01, 10 epochs of 100 steps: step t is epoch t / 100.
kbnn::TrainConfig ten_epochs() {
  kbnn::TrainConfig c;
  c.lr = 0.01;
  c.epochs = 10;
  return c;
}

double lr_at(const kbnn::TrainConfig& c, std::int64_t step,
             kbnn::BatchMode mode = kbnn::BatchMode::global, int ranks = 1) {
  return kbnn::learning_rate(c, mode, ranks, step, 100);
}

}  // namespace

TEST_CASE("A constant schedule without warm-up is train.lr, times the ranks in per_rank mode",
          "[train]") {
  const auto c = ten_epochs();
  for (std::int64_t t : {0, 1, 99, 100, 999, 5000}) {
    CHECK(lr_at(c, t) == 0.01);
    CHECK(lr_at(c, t, kbnn::BatchMode::global, 4) == 0.01);
    CHECK(lr_at(c, t, kbnn::BatchMode::per_rank, 4) == Approx(0.04).epsilon(1e-15));
  }
}

TEST_CASE("Warm-up rises linearly per step: from 0 in global mode, from train.lr in per_rank",
          "[train]") {
  auto c = ten_epochs();
  SECTION("global: lr (t + 1) / 50 over half an epoch") {
    c.lr_warmup_epochs = 0.5;
    CHECK(lr_at(c, 0) == Approx(0.01 / 50));
    CHECK(lr_at(c, 24) == Approx(0.005));
    CHECK(lr_at(c, 48) == Approx(0.01 * 49 / 50));
    CHECK(lr_at(c, 49) == 0.01);
    CHECK(lr_at(c, 50) == 0.01);
    CHECK(lr_at(c, 900) == 0.01);
  }
  SECTION("per_rank on 4 ranks: 0.04 (1/4 + 3/4 (t + 1) / 100) over one epoch (Goyal et al.)") {
    c.lr_warmup_epochs = 1;
    const auto per_rank = kbnn::BatchMode::per_rank;
    CHECK(lr_at(c, 0, per_rank, 4) == Approx(0.04 * 0.2575));
    CHECK(lr_at(c, 59, per_rank, 4) == Approx(0.028));
    CHECK(lr_at(c, 98, per_rank, 4) == Approx(0.04 * (0.25 + 0.75 * 0.99)));
    CHECK(lr_at(c, 99, per_rank, 4) == Approx(0.04));
    CHECK(lr_at(c, 500, per_rank, 4) == Approx(0.04));
  }
  SECTION("per_rank on one rank: the warm-up changes nothing") {
    c.lr_warmup_epochs = 5;
    for (std::int64_t t : {0, 1, 250, 499, 500})
      CHECK(lr_at(c, t, kbnn::BatchMode::per_rank, 1) == Approx(0.01).epsilon(1e-15));
  }
}

TEST_CASE("Cosine decay falls from lr to lr_decay_factor * lr over lr_decay_epochs", "[train]") {
  auto c = ten_epochs();
  c.lr_schedule = kbnn::LrSchedule::cosine;
  SECTION("over the whole run (lr_decay_epochs = 0), down to 0") {
    c.lr_decay_factor = 0;
    CHECK(lr_at(c, 0) == 0.01);
    CHECK(lr_at(c, 250) == Approx(0.01 * (1 + std::sqrt(0.5)) / 2));  // cos(pi/4)
    CHECK(lr_at(c, 500) == Approx(0.005));
    CHECK(lr_at(c, 750) == Approx(0.01 * (1 - std::sqrt(0.5)) / 2));
    CHECK(lr_at(c, 1000) == Approx(0).margin(1e-18));
  }
  SECTION("over 4 epochs, down to a tenth, then held there") {
    c.lr_decay_factor = 0.1;
    c.lr_decay_epochs = 4;
    CHECK(lr_at(c, 200) == Approx(0.01 * (0.1 + 0.9 * 0.5)));
    CHECK(lr_at(c, 400) == Approx(0.001));
    CHECK(lr_at(c, 900) == Approx(0.001));
  }
}

TEST_CASE("Step decay multiplies by lr_decay_factor every lr_decay_epochs", "[train]") {
  auto c = ten_epochs();
  c.lr_schedule = kbnn::LrSchedule::step;
  c.lr_decay_factor = 0.5;
  c.lr_decay_epochs = 3;
  CHECK(lr_at(c, 0) == 0.01);
  CHECK(lr_at(c, 299) == 0.01);
  CHECK(lr_at(c, 300) == Approx(0.005));
  CHECK(lr_at(c, 650) == Approx(0.0025));
  CHECK(lr_at(c, 999) == Approx(0.00125));
  c.lr_decay_epochs = 0.25;  // every 25 steps
  CHECK(lr_at(c, 24) == 0.01);
  CHECK(lr_at(c, 49) == Approx(0.005));
  CHECK(lr_at(c, 50) == Approx(0.0025));
}

TEST_CASE("Warm-up multiplies the decay schedule", "[train]") {
  auto c = ten_epochs();
  c.lr_warmup_epochs = 2;  // 200 steps
  c.lr_schedule = kbnn::LrSchedule::step;
  c.lr_decay_epochs = 1;
  c.lr_decay_factor = 0.1;
  CHECK(lr_at(c, 49) == Approx(0.01 * 50.0 / 200));
  CHECK(lr_at(c, 99) == Approx(0.01 * 100.0 / 200));
  CHECK(lr_at(c, 149) == Approx(0.001 * 150.0 / 200));
  CHECK(lr_at(c, 250) == Approx(0.0001));
}

TEST_CASE("A span of epochs is round(epochs * steps per epoch) steps, at least 1", "[train]") {
  CHECK(kbnn::span_steps(0, 7) == 0);
  CHECK(kbnn::span_steps(0.5, 7) == 4);  // 3.5 rounds up
  CHECK(kbnn::span_steps(0.4, 7) == 3);  // 2.8
  CHECK(kbnn::span_steps(0.01, 7) == 1);
  CHECK(kbnn::span_steps(3, 7) == 21);
}
