// Tests of the input deck: the shipped decks, command-line overrides, the resolved deck,
// and that every kind of bad input is rejected with a message naming what was wrong.
#include "app/deck.hpp"
#include "app/deck_docs.hpp"

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "catch.hpp"
#include "core/error.hpp"

namespace fs = std::filesystem;

namespace {

const std::string kInput = std::string(KBNN_SOURCE_DIR) + "/input/";

// A deck file in the temp directory, removed again when the test ends. The pid keeps
// concurrent test processes (ctest -j, MPI ranks) apart.
class TempDeck {
 public:
  explicit TempDeck(const std::string& text) {
    static int counter = 0;
    path_ = fs::temp_directory_path() /
            kbnn::concat("kbnn_test_deck_", ::getpid(), "_", counter++, ".cfg");
    std::ofstream(path_) << text;
  }
  ~TempDeck() {
    std::error_code ignored;
    fs::remove(path_, ignored);
  }
  TempDeck(const TempDeck&) = delete;
  TempDeck& operator=(const TempDeck&) = delete;
  std::string path() const { return path_.string(); }

 private:
  fs::path path_;
};

// The smallest valid model, to which a test adds the option under test.
const std::string kMinimal = "[model]\nlayer = flatten\nlayer = dense out=10\n";

kbnn::RunConfig parse_text(const std::string& text, const std::vector<std::string>& args = {}) {
  TempDeck deck(text);
  return kbnn::parse_deck(deck.path(), args);
}

void require_same_layer(const kbnn::LayerSpec& a, const kbnn::LayerSpec& b) {
  CHECK(a.kind == b.kind);
  CHECK(a.out == b.out);
  CHECK(a.kernel == b.kernel);
  CHECK(a.stride == b.stride);
  CHECK(a.padding == b.padding);
  CHECK(a.size == b.size);
  CHECK(a.estimator == b.estimator);
}

}  // namespace

TEST_CASE("the default deck is the classic LeNet-5 with Flipout", "[deck]") {
  const auto c = kbnn::parse_deck(kInput + "fashion_mnist_lenet5.cfg");
  CHECK(c.data.format == kbnn::DataFormat::idx);
  CHECK(c.data.dir == "/usr/share/datasets/fashion-mnist");
  CHECK(c.train.optimizer == kbnn::OptimizerKind::adam);
  CHECK(c.train.lr == 1e-3);
  CHECK(c.train.batch_size == 128);
  CHECK(c.train.epochs == 1);
  CHECK(c.train.seed == 42);
  CHECK(c.eval.samples == 10);

  // kind, out, kernel, stride, padding, size: the shapes of peer_torch_flipout.py lenet5.
  struct Expected {
    kbnn::LayerKind kind;
    int out, kernel, stride, padding, size;
  };
  using K = kbnn::LayerKind;
  const std::vector<Expected> expected = {
      {K::conv2d, 6, 5, 1, 2, 2},    {K::relu, 0, 0, 1, 0, 2},  {K::maxpool2d, 0, 0, 2, 0, 2},
      {K::conv2d, 16, 5, 1, 0, 2},   {K::relu, 0, 0, 1, 0, 2},  {K::maxpool2d, 0, 0, 2, 0, 2},
      {K::conv2d, 120, 5, 1, 0, 2},  {K::relu, 0, 0, 1, 0, 2},  {K::flatten, 0, 0, 1, 0, 2},
      {K::dense, 84, 0, 1, 0, 2},    {K::relu, 0, 0, 1, 0, 2},  {K::dense, 10, 0, 1, 0, 2}};
  REQUIRE(c.model.layers.size() == expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) {
    INFO("layer " << i + 1 << ": " << c.model.layers[i].text);
    const auto& l = c.model.layers[i];
    CHECK(l.kind == expected[i].kind);
    CHECK(l.out == expected[i].out);
    CHECK(l.kernel == expected[i].kernel);
    CHECK(l.stride == expected[i].stride);
    CHECK(l.padding == expected[i].padding);
    CHECK(l.size == expected[i].size);
    const bool weighted = l.kind == K::conv2d || l.kind == K::dense;
    CHECK(l.estimator == (weighted ? std::optional(kbnn::Estimator::flipout) : std::nullopt));
  }
}

TEST_CASE("the TFP and CIFAR-10 decks parse with their documented shapes", "[deck]") {
  const auto tfp = kbnn::parse_deck(kInput + "mnist_tfp_lenet5.cfg");
  CHECK(tfp.data.dir == "/usr/share/datasets/mnist");
  int convs = 0;
  for (const auto& l : tfp.model.layers) {
    if (l.kind != kbnn::LayerKind::conv2d) continue;
    ++convs;
    CHECK(l.padding == 2);  // SAME everywhere: the flatten is 7*7*120
  }
  CHECK(convs == 3);
  CHECK(tfp.model.layers.size() == 12);

  const auto cifar = kbnn::parse_deck(kInput + "cifar10_seed_cnn.cfg");
  CHECK(cifar.data.format == kbnn::DataFormat::cifar10);
  CHECK(cifar.train.lr == 1e-4);
  CHECK(cifar.eval.samples == 80);
  std::vector<int> conv_out;
  int pools = 0;
  for (const auto& l : cifar.model.layers) {
    if (l.kind == kbnn::LayerKind::conv2d) {
      conv_out.push_back(l.out);
      CHECK(l.kernel == 3);
      CHECK(l.padding == 1);
      CHECK(l.estimator == kbnn::Estimator::flipout);
    }
    if (l.kind == kbnn::LayerKind::maxpool2d) ++pools;
  }
  CHECK(conv_out == std::vector<int>{32, 32, 64, 64, 128, 128});
  CHECK(pools == 3);
  REQUIRE(cifar.model.layers.size() == 19);
  CHECK(cifar.model.layers[16].kind == kbnn::LayerKind::dense);
  CHECK(cifar.model.layers[16].out == 128);
  CHECK(cifar.model.layers.back().out == 10);
}

TEST_CASE("command-line overrides win over the file", "[deck]") {
  const std::string text = kMinimal + "[train]\nepochs = 3\nlr = 0.01\n[data]\ndir = /from/file\n";
  const auto c = parse_text(text, {"--train.epochs=5", "--data.dir", "/tmp/x"});
  CHECK(c.train.epochs == 5);
  CHECK(c.data.dir == "/tmp/x");
  CHECK(c.train.lr == 0.01);            // not overridden: the file's value
  CHECK(c.train.batch_size == 128);     // in neither: the default

  SECTION("--model.layer replaces the whole list") {
    const auto r = parse_text(text, {"--model.layer=dense out=3", "--model.layer", "relu"});
    REQUIRE(r.model.layers.size() == 2);
    CHECK(r.model.layers[0].kind == kbnn::LayerKind::dense);
    CHECK(r.model.layers[0].out == 3);
    CHECK(r.model.layers[1].kind == kbnn::LayerKind::relu);
  }
}

TEST_CASE("layer lines: defaults and the deck's estimator", "[deck]") {
  const auto pool = kbnn::parse_layer("maxpool2d size=3");
  CHECK(pool.stride == 3);  // stride defaults to the window
  CHECK(kbnn::parse_layer("maxpool2d size=3 stride=1").stride == 1);
  const auto conv = kbnn::parse_layer("  conv2d out=6 kernel=5 padding=2  ");
  CHECK(conv.text == "conv2d out=6 kernel=5 padding=2");
  CHECK(conv.stride == 1);
  CHECK_FALSE(conv.estimator.has_value());  // parse_layer alone does not know model.estimator

  const auto c = parse_text(
      "[model]\nestimator = reparam\nlayer = flatten\nlayer = dense out=4\n"
      "layer = dense out=2 estimator=flipout\n");
  CHECK(c.model.layers[1].estimator == kbnn::Estimator::reparam);
  CHECK(c.model.layers[2].estimator == kbnn::Estimator::flipout);

  const auto d = parse_text(
      "[model]\nestimator = deterministic\nlayer = flatten\nlayer = dense out=4\n"
      "layer = dense out=2 estimator=local_reparam\n");
  CHECK(d.model.layers[1].estimator == kbnn::Estimator::deterministic);
  CHECK(d.model.layers[2].estimator == kbnn::Estimator::local_reparam);
}

TEST_CASE("conv1d and maxpool1d lines; the waveform deck reads signals", "[deck]") {
  using K = kbnn::LayerKind;
  const auto c = kbnn::parse_deck(kInput + "waveform_conv1d.cfg");
  CHECK(c.data.format == kbnn::DataFormat::hdf5);
  CHECK(c.data.layout == kbnn::DataLayout::signal);
  std::vector<K> kinds;
  for (const auto& l : c.model.layers) kinds.push_back(l.kind);
  CHECK(kinds == std::vector<K>{K::conv1d, K::relu, K::maxpool1d, K::conv1d, K::relu,
                                K::maxpool1d, K::flatten, K::dense});
  const auto& conv = c.model.layers[0];
  CHECK((conv.out == 8 && conv.kernel == 5 && conv.stride == 1 && conv.padding == 2));
  CHECK(conv.estimator == kbnn::Estimator::flipout);
  CHECK((c.model.layers[2].size == 2 && c.model.layers[2].stride == 2));  // stride = size
  CHECK(kbnn::parse_layer("maxpool1d size=3 stride=1").stride == 1);
  const std::string text = kbnn::resolved_deck(c);
  for (const char* line : {"layout = signal", "layer = conv1d out=8 kernel=5 stride=1 padding=2 "
                           "estimator=flipout", "layer = maxpool1d size=2 stride=2"}) {
    INFO(line);
    CHECK(text.find(line) != std::string::npos);
  }
  const auto b = kbnn::parse_deck_text(text, "resolved");
  REQUIRE(b.model.layers.size() == c.model.layers.size());
  for (std::size_t i = 0; i < b.model.layers.size(); ++i)
    require_same_layer(b.model.layers[i], c.model.layers[i]);
  REQUIRE_THROWS_WITH(kbnn::parse_layer("conv1d out=4"),
                      kbnn::test::contains("'conv1d out=4': conv1d requires kernel="));
  REQUIRE_THROWS_WITH(kbnn::parse_layer("maxpool1d size=2 padding=1"),
                      kbnn::test::contains("unknown key 'padding' for maxpool1d, expected one of "
                                           "size, stride"));
}

TEST_CASE("model.init_from and model.moped_delta", "[deck]") {
  const auto c = parse_text(kMinimal, {"--model.init_from=det.h5", "--model.moped_delta=0.1"});
  CHECK(c.model.init_from == "det.h5");
  CHECK(c.model.moped_delta == 0.1);
  CHECK(parse_text(kMinimal).model.moped_delta == 0);  // off by default
  REQUIRE_THROWS_WITH(parse_text(kMinimal, {"--model.moped_delta=0.1"}),
                      kbnn::test::contains("command line: model.moped_delta: expected 0 unless "
                               "model.init_from names a run file whose weights set mu, got '0.1'"));
  REQUIRE_THROWS_WITH(parse_text(kMinimal, {"--model.init_from=a.h5", "--model.moped_delta=-1"}),
                      kbnn::test::contains("model.moped_delta: expected a number >= 0 (0 = off), got '-1'"));
}

TEST_CASE("train.clip_norm: off by default, a finite number >= 0, not with a step dump",
          "[deck]") {
  using kbnn::test::contains;
  CHECK(parse_text(kMinimal).train.clip_norm == 0);
  CHECK(parse_text(kMinimal, {"--train.clip_norm=10"}).train.clip_norm == 10);
  CHECK(parse_text(kMinimal + "[train]\nclip_norm = 0.5\n").train.clip_norm == 0.5);
  REQUIRE_THROWS_WITH(parse_text(kMinimal, {"--train.clip_norm=-1"}),
                      contains("command line: train.clip_norm: expected a number >= 0 (0 = no "
                               "clipping), got '-1'"));
  for (const char* bad : {"nan", "inf"})  // the parser takes finite numbers only
    REQUIRE_THROWS_WITH(parse_text(kMinimal, {std::string("--train.clip_norm=") + bad}),
                        contains(std::string("train.clip_norm: expected a number, got '") + bad));
  REQUIRE_THROWS_WITH(parse_text(kMinimal, {"--train.clip_norm=1", "--debug.dump_steps=2",
                                            "--debug.dump_file=d.h5"}),
                      contains("debug.dump_steps = 2 needs train.clip_norm = 0 (the replay does "
                               "not clip), got 1"));
}

TEST_CASE("booleans accept true/false/1/0/yes/no", "[deck]") {
  for (const char* yes : {"true", "1", "yes", "True"})
    CHECK(parse_text(kMinimal + "bayesian_bias = " + yes + "\n").model.bayesian_bias);
  for (const char* no : {"false", "0", "no"})
    CHECK_FALSE(parse_text(kMinimal + "[train]\nshuffle = " + no + "\n").train.shuffle);
  REQUIRE_THROWS_WITH(
      parse_text(kMinimal, {"--train.shuffle=maybe"}),
      kbnn::test::contains("command line: train.shuffle: expected true/false/1/0/yes/no, "
                           "got 'maybe'"));
}

TEST_CASE("resolved_deck() reads back to the same config", "[deck]") {
  const auto a = kbnn::parse_deck(
      kInput + "fashion_mnist_lenet5.cfg",
      {"--train.lr=3e-4", "--train.kl_schedule=cyclical", "--train.seed=18446744073709551615",
       "--model.init_rho_mean=-2.5", "--model.bayesian_bias=yes", "--data.train_limit=1000",
       "--train.momentum=0.1", "--data.shuffle=local", "--output.dir=/tmp/runs",
       "--output.checkpoint_every=500", "--output.write_predictions=no",
       "--parallel.batch_mode=per_rank", "--parallel.gpu_aware_mpi=1"});
  const std::string text = kbnn::resolved_deck(a);
  // Every option is written, defaults included.
  for (const char* line : {"[data]", "[model]", "[train]", "[eval]", "epochs = 1",
                           "adam_epsilon = 1e-08", "kl_cycles = 4", "lr = 0.0003",
                           "layer = conv2d out=6 kernel=5 stride=1 padding=2 estimator=flipout",
                           "layer = maxpool2d size=2 stride=2", "batch_size = 1000",
                           "[output]", "[parallel]", "shuffle = local", "train_file = \n",
                           "name = fashion_mnist_lenet5\n", "checkpoint_every = 500",
                           "write_predictions = false", "batch_mode = per_rank",
                           "gpu_aware_mpi = true"}) {
    INFO(line);
    CHECK(text.find(line) != std::string::npos);
  }

  TempDeck deck(text);
  const auto b = kbnn::parse_deck(deck.path());
  CHECK(kbnn::resolved_deck(b).substr(kbnn::resolved_deck(b).find('\n')) ==
        text.substr(text.find('\n')));  // the first line names the source file
  CHECK(b.train.lr == a.train.lr);
  CHECK(b.train.momentum == a.train.momentum);
  CHECK(b.train.seed == a.train.seed);
  CHECK(b.train.kl_schedule == kbnn::KlSchedule::cyclical);
  CHECK(b.model.init_rho_mean == -2.5);
  CHECK(b.model.bayesian_bias);
  CHECK(b.data.train_limit == 1000);
  CHECK(b.train.adam_epsilon == a.train.adam_epsilon);
  CHECK(b.data.shuffle == kbnn::ShuffleScope::local);
  CHECK(b.data.train_file.empty());
  CHECK(b.output.dir == "/tmp/runs");
  CHECK(b.output.checkpoint_every == 500);
  CHECK_FALSE(b.output.write_predictions);
  CHECK(b.parallel.batch_mode == kbnn::BatchMode::per_rank);
  CHECK(b.parallel.gpu_aware_mpi);
  // The resolved deck keeps the run's name, although it now lives in another file.
  CHECK(a.output.name.empty());
  CHECK(b.output.name == "fashion_mnist_lenet5");
  CHECK(kbnn::run_name(b) == kbnn::run_name(a));
  REQUIRE(b.model.layers.size() == a.model.layers.size());
  for (std::size_t i = 0; i < a.model.layers.size(); ++i)
    require_same_layer(a.model.layers[i], b.model.layers[i]);
}

TEST_CASE("bad decks are rejected with a message naming the problem", "[deck]") {
  using kbnn::test::contains;
  TempDeck deck(kMinimal + "[train]\nepochz = 3\n");
  const std::string where = "input deck " + deck.path() + ": ";

  SECTION("unknown option in the file") {
    REQUIRE_THROWS_WITH(kbnn::parse_deck(deck.path()),
                        contains(where + "unknown option 'train.epochz'"));
    REQUIRE_THROWS_AS(kbnn::parse_deck(deck.path()), kbnn::InputError);
  }
  SECTION("option outside a section") {
    REQUIRE_THROWS_WITH(parse_text("epochs = 3\n" + kMinimal), contains("unknown option 'epochs'"));
  }
  SECTION("unknown option on the command line, no abbreviations") {
    REQUIRE_THROWS_WITH(parse_text(kMinimal, {"--train.epochz=4"}),
                        contains("command line: unknown option 'train.epochz'"));
    REQUIRE_THROWS_WITH(parse_text(kMinimal, {"--train.epo=4"}),
                        contains("command line: unknown option 'train.epo'"));
    REQUIRE_THROWS_WITH(parse_text(kMinimal, {"stray"}),
                        contains("command line: unexpected argument 'stray'"));
    REQUIRE_THROWS_WITH(parse_text(kMinimal, {"--train.epochs"}),
                        contains("command line: "));
  }
  SECTION("malformed integer") {
    REQUIRE_THROWS_WITH(parse_text(kMinimal + "[train]\nepochs = five\n"),
                        contains(": train.epochs: expected an integer, got 'five'"));
    REQUIRE_THROWS_WITH(parse_text(kMinimal + "[train]\nseed = -1\n"),
                        contains("train.seed: expected a non-negative integer, got '-1'"));
  }
  SECTION("an integer too large for its type names the type's bound") {
    REQUIRE_THROWS_WITH(parse_text(kMinimal, {"--eval.samples=1000000000000"}),
                        contains("command line: eval.samples: expected an integer >= 1 and at "
                                 "most 2147483647, got '1000000000000'"));
    REQUIRE_THROWS_WITH(parse_text(kMinimal + "[train]\nmax_steps = 99999999999999999999\n"),
                        contains(".cfg: train.max_steps: expected an integer >= 0 (0 = no "
                                 "limit) and at most 9223372036854775807, got "
                                 "'99999999999999999999'"));
    REQUIRE_THROWS_WITH(parse_text(kMinimal, {"--train.seed=99999999999999999999"}),
                        contains("command line: train.seed: expected an integer at most "
                                 "18446744073709551615, got '99999999999999999999'"));
    REQUIRE_THROWS_WITH(parse_text("[model]\nlayer = flatten\nlayer = dense out=3000000000\n"),
                        contains("out: expected an integer >= 1 and at most 2147483647, got "
                                 "'3000000000'"));
  }
  SECTION("malformed double") {
    REQUIRE_THROWS_WITH(parse_text(kMinimal + "[train]\nlr = 1e-3x\n"),
                        contains("train.lr: expected a number, got '1e-3x'"));
  }
  SECTION("out-of-range values name the source") {
    REQUIRE_THROWS_WITH(parse_text(kMinimal + "[train]\nlr = -1\n"),
                        contains("train.lr: expected a number > 0, got '-1'"));
    REQUIRE_THROWS_WITH(parse_text(kMinimal, {"--train.lr=0"}),
                        contains("command line: train.lr: expected a number > 0, got '0'"));
    REQUIRE_THROWS_WITH(parse_text(kMinimal, {"--train.kl_ratio=0"}),
                        contains("train.kl_ratio: expected a number in (0, 1]"));
    REQUIRE_THROWS_WITH(parse_text(kMinimal, {"--train.adam_beta2=1"}),
                        contains("train.adam_beta2: expected a number in [0, 1)"));
    REQUIRE_THROWS_WITH(parse_text(kMinimal, {"--eval.samples=0"}),
                        contains("eval.samples: expected an integer >= 1, got '0'"));
    REQUIRE_THROWS_WITH(parse_text(kMinimal, {"--data.format=netcdf"}),
                        contains("command line: data.format: expected one of idx, cifar10, "
                                 "hdf5, got 'netcdf'"));
    REQUIRE_THROWS_WITH(parse_text(kMinimal + "[data]\nformat = IDX\n"),
                        contains(".cfg: data.format: expected one of idx, cifar10, hdf5, got "
                                 "'IDX'"));
    // Only ood.format may be empty.
    REQUIRE_THROWS_WITH(parse_text(kMinimal + "[data]\nformat =\n"),
                        contains("data.format: expected one of idx, cifar10, hdf5, got ''"));
    REQUIRE_THROWS_WITH(parse_text(kMinimal, {"--ood.format=png"}),
                        contains("command line: ood.format: expected one of idx, cifar10, hdf5, "
                                 "or empty for none, got 'png'"));
    REQUIRE_THROWS_WITH(parse_text(kMinimal, {"--train.optimizer=adamw"}),
                        contains("train.optimizer: expected one of adam, sgd, got 'adamw'"));
  }
  SECTION("bad estimator") {
    REQUIRE_THROWS_WITH(parse_text(kMinimal + "estimator = bbb\n"),
                        contains("model.estimator: expected one of flipout, reparam, local_reparam, deterministic, got 'bbb'"));
    REQUIRE_THROWS_WITH(parse_text("[model]\nlayer = dense out=3 estimator=bbb\n"),
                        contains("estimator: expected one of flipout, reparam, local_reparam, deterministic, got 'bbb'"));
  }
  SECTION("option given twice") {
    REQUIRE_THROWS_WITH(parse_text(kMinimal + "[train]\nepochs = 1\nepochs = 2\n"),
                        contains("option 'train.epochs' is given more than once"));
  }
  SECTION("missing file") {
    REQUIRE_THROWS_WITH(kbnn::parse_deck("/nonexistent/kbnn.cfg"),
                        contains("input deck /nonexistent/kbnn.cfg: cannot open the file"));
  }
  SECTION("a line that is not an option") {
    REQUIRE_THROWS_WITH(parse_text(kMinimal + "this is not an option\n"),
                        contains("this is not an option"));
  }
}

TEST_CASE("bad layer lines are rejected with the line in the message", "[deck]") {
  using kbnn::test::contains;
  SECTION("no layers") {
    REQUIRE_THROWS_WITH(parse_text("[train]\nepochs = 1\n"),
                        contains("model.layer: expected at least one"));
  }
  SECTION("unknown kind") {
    REQUIRE_THROWS_WITH(parse_text("[model]\nlayer = flatten\nlayer = lstm out=3\n"),
                        contains("model.layer 2 'lstm out=3': unknown layer kind 'lstm', "
                                 "expected one of conv2d, dense, relu, maxpool2d, flatten, conv1d, "
                                 "maxpool1d"));
    // Kinds are words of the deck, matched exactly.
    REQUIRE_THROWS_WITH(kbnn::parse_layer("Dense out=3"),
                        contains("unknown layer kind 'Dense', expected one of conv2d, dense"));
    REQUIRE_THROWS_WITH(kbnn::parse_layer("   "),
                        contains("expected a layer kind (conv2d, dense, relu, maxpool2d, "
                                 "flatten, conv1d, maxpool1d)"));
  }
  SECTION("unknown key for the kind") {
    REQUIRE_THROWS_WITH(parse_text("[model]\nlayer = conv2d out=6 kernle=5\n"),
                        contains("'conv2d out=6 kernle=5': unknown key 'kernle' for conv2d"));
    REQUIRE_THROWS_WITH(kbnn::parse_layer("dense out=3 padding=1"),
                        contains("unknown key 'padding' for dense"));
    REQUIRE_THROWS_WITH(kbnn::parse_layer("relu size=2"), contains("relu takes no keys"));
  }
  SECTION("missing required key") {
    REQUIRE_THROWS_WITH(kbnn::parse_layer("conv2d out=6"),
                        contains("'conv2d out=6': conv2d requires kernel="));
    REQUIRE_THROWS_WITH(kbnn::parse_layer("dense"), contains("dense requires out="));
  }
  SECTION("non-integer or non-positive value") {
    REQUIRE_THROWS_WITH(kbnn::parse_layer("dense out=ten"),
                        contains("out: expected an integer >= 1, got 'ten'"));
    REQUIRE_THROWS_WITH(kbnn::parse_layer("conv2d out=0 kernel=3"),
                        contains("out: expected an integer >= 1, got '0'"));
    REQUIRE_THROWS_WITH(kbnn::parse_layer("conv2d out=4 kernel=3 padding=-1"),
                        contains("padding: expected an integer >= 0, got '-1'"));
  }
  SECTION("token without '='") {
    REQUIRE_THROWS_WITH(kbnn::parse_layer("dense 10"), contains("expected key=value, got '10'"));
  }
  SECTION("bad layer on the command line names the command line") {
    REQUIRE_THROWS_WITH(parse_text(kMinimal, {"--model.layer=dense"}),
                        contains("command line: model.layer 1 'dense': dense requires out="));
  }
}

TEST_CASE("data, output and parallel options: defaults and overrides", "[deck]") {
  const auto d = parse_text(kMinimal);
  CHECK(d.data.format == kbnn::DataFormat::idx);
  CHECK(d.data.shuffle == kbnn::ShuffleScope::global);
  CHECK(d.data.train_file.empty());
  CHECK(d.data.test_file.empty());
  CHECK(d.output.dir == ".");
  CHECK(d.output.name.empty());
  CHECK(d.output.checkpoint_every == 0);
  CHECK(d.output.write_predictions);
  CHECK(d.parallel.batch_mode == kbnn::BatchMode::global);
  CHECK_FALSE(d.parallel.gpu_aware_mpi);

  // The shipped default deck spells the defaults out.
  const auto deck = kbnn::parse_deck(kInput + "fashion_mnist_lenet5.cfg");
  CHECK(deck.data.shuffle == kbnn::ShuffleScope::global);
  CHECK(deck.output.dir == ".");
  CHECK(deck.output.name.empty());
  CHECK(deck.output.checkpoint_every == 0);
  CHECK(deck.output.write_predictions);
  CHECK(deck.parallel.batch_mode == kbnn::BatchMode::global);
  CHECK_FALSE(deck.parallel.gpu_aware_mpi);

  const auto f = parse_text(kMinimal +
                            "[data]\nformat = hdf5\ntrain_file = /d/train.h5\n"
                            "test_file = /d/test.h5\nshuffle = local\n"
                            "[output]\ndir = out\nname = try1\ncheckpoint_every = 300\n"
                            "write_predictions = false\n"
                            "[parallel]\nbatch_mode = per_rank\ngpu_aware_mpi = yes\n");
  CHECK(f.data.format == kbnn::DataFormat::hdf5);
  CHECK(f.data.train_file == "/d/train.h5");
  CHECK(f.data.test_file == "/d/test.h5");
  CHECK(f.data.shuffle == kbnn::ShuffleScope::local);
  CHECK(f.output.dir == "out");
  CHECK(f.output.name == "try1");
  CHECK(f.output.checkpoint_every == 300);
  CHECK_FALSE(f.output.write_predictions);
  CHECK(f.parallel.batch_mode == kbnn::BatchMode::per_rank);
  CHECK(f.parallel.gpu_aware_mpi);

  const auto c = parse_text(kMinimal, {"--data.shuffle=local", "--output.dir", "/scratch/runs",
                                       "--output.name=cli", "--train.log_every=50",
                                       "--output.checkpoint_every=150",
                                       "--output.write_predictions=0",
                                       "--parallel.batch_mode=per_rank",
                                       "--parallel.gpu_aware_mpi=true"});
  CHECK(c.data.shuffle == kbnn::ShuffleScope::local);
  CHECK(c.output.dir == "/scratch/runs");
  CHECK(c.output.name == "cli");
  CHECK(c.output.checkpoint_every == 150);
  CHECK_FALSE(c.output.write_predictions);
  CHECK(c.parallel.batch_mode == kbnn::BatchMode::per_rank);
  CHECK(c.parallel.gpu_aware_mpi);

  // The command line fills in what the file's hdf5 format needs.
  const auto h = parse_text(kMinimal + "[data]\nformat = hdf5\n",
                            {"--data.train_file=a.h5", "--data.test_file=b.h5"});
  CHECK(h.data.train_file == "a.h5");
  CHECK(h.data.test_file == "b.h5");
}

TEST_CASE("run_name is output.name, else the deck file's stem", "[deck]") {
  CHECK(kbnn::run_name(kbnn::parse_deck(kInput + "fashion_mnist_lenet5.cfg")) ==
        "fashion_mnist_lenet5");
  CHECK(kbnn::run_name(kbnn::parse_deck(kInput + "cifar10_seed_cnn.cfg", {"--output.name=cifar_a"})) ==
        "cifar_a");
  kbnn::RunConfig c;
  c.deck_path = "/some/where/my.deck.cfg";
  CHECK(kbnn::run_name(c) == "my.deck");
  c.output.name = "named";
  CHECK(kbnn::run_name(c) == "named");
  CHECK(kbnn::run_name(kbnn::RunConfig{}) == "kbnn");
}

TEST_CASE("bad data, output and parallel options are rejected", "[deck]") {
  using kbnn::test::contains;
  SECTION("data.shuffle") {
    REQUIRE_THROWS_WITH(parse_text(kMinimal + "[data]\nshuffle = random\n"),
                        contains(": data.shuffle: expected one of global, local, got 'random'"));
  }
  SECTION("hdf5 needs both files") {
    TempDeck deck(kMinimal + "[data]\nformat = hdf5\ntrain_file = /d/train.h5\n");
    REQUIRE_THROWS_WITH(
        kbnn::parse_deck(deck.path()),
        contains("input deck " + deck.path() +
                 ": data.format = hdf5 requires data.train_file and data.test_file"));
    REQUIRE_THROWS_WITH(kbnn::parse_deck(deck.path()),
                        contains("data.test_file is not set"));
    REQUIRE_THROWS_WITH(parse_text(kMinimal, {"--data.format=hdf5"}),
                        contains("command line: data.format = hdf5 requires data.train_file "
                                 "and data.test_file"));
    REQUIRE_THROWS_WITH(parse_text(kMinimal, {"--data.format=hdf5", "--data.test_file=t.h5"}),
                        contains("data.train_file is not set"));
  }
  SECTION("a trained run's deck (kbnn predict) needs only a test file") {
    const std::string where = "m.h5: deck";
    // A model trained on IDX data, predicting on an HDF5 file: no training file needed.
    const kbnn::RunConfig hdf5 =
        kbnn::parse_deck_text(kMinimal, where, {"--data.format=hdf5", "--data.test_file=n.h5"});
    CHECK(hdf5.data.test_file == "n.h5");
    REQUIRE_THROWS_WITH(kbnn::parse_deck_text(kMinimal, where, {"--data.format=hdf5"}),
                        contains("command line: data.format = hdf5 needs data.test_file, the "
                                 "HDF5 file to predict on"));
    // A model tested on the tail of its training file: a test file replaces the tail ...
    const std::string split = kMinimal + "[data]\nformat = hdf5\ntrain_file = a.h5\n"
                                         "test_fraction = 0.2\n";
    CHECK(kbnn::parse_deck_text(split, where).data.test_fraction == 0.2);
    const kbnn::RunConfig file = kbnn::parse_deck_text(split, where, {"--data.test_file=n.h5"});
    CHECK(file.data.test_file == "n.h5");
    CHECK(file.data.test_fraction == 0);
    // ... unless the command line asks for both.
    REQUIRE_THROWS_WITH(
        kbnn::parse_deck_text(split, where, {"--data.test_file=n.h5", "--data.test_fraction=0.2"}),
        contains("command line: data.test_fraction: expected 0 when data.test_file names the "
                 "test set"));
    // Training still needs both.
    REQUIRE_THROWS_WITH(parse_text(split, {"--data.test_file=n.h5"}),
                        contains("data.test_fraction: expected 0 when data.test_file names"));
  }
  SECTION("data.dir is needed unless hdf5") {
    REQUIRE_THROWS_WITH(parse_text(kMinimal + "[data]\ndir =\n"),
                        contains(": data.dir: expected a directory, got ''"));
    // ... but hdf5 reads only its two files.
    CHECK(parse_text(kMinimal + "[data]\ndir =\nformat = hdf5\ntrain_file = a.h5\n"
                                "test_file = b.h5\n").data.dir.empty());
  }
  SECTION("output.checkpoint_every") {
    REQUIRE_THROWS_WITH(parse_text(kMinimal, {"--output.checkpoint_every=-100"}),
                        contains("output.checkpoint_every: expected an integer >= 0"));
    REQUIRE_THROWS_WITH(
        parse_text(kMinimal, {"--output.checkpoint_every=150"}),
        contains("command line: output.checkpoint_every: expected a multiple of "
                 "train.log_every (100), got '150'"));
    // The command line gave one of the two options: it is blamed, the deck's value named.
    REQUIRE_THROWS_WITH(
        parse_text(kMinimal + "[output]\ncheckpoint_every = 200\n", {"--train.log_every=300"}),
        contains("command line: output.checkpoint_every: expected a multiple of train.log_every "
                 "(300), got '200' (from input deck "));
    REQUIRE_THROWS_WITH(
        parse_text(kMinimal + "[output]\ncheckpoint_every = 200\n[train]\nlog_every = 300\n"),
        contains(".cfg: output.checkpoint_every: expected a multiple of train.log_every (300), "
                 "got '200'"));
    REQUIRE_THROWS_WITH(parse_text(kMinimal, {"--output.checkpoint_every=ten"}),
                        contains("output.checkpoint_every: expected an integer, got 'ten'"));
  }
  SECTION("output.dir and output.name") {
    REQUIRE_THROWS_WITH(parse_text(kMinimal + "[output]\ndir =\n"),
                        contains(": output.dir: expected a directory, got ''"));
    REQUIRE_THROWS_WITH(parse_text(kMinimal, {"--output.name=a/b"}),
                        contains("output.name: expected a file name without '/'"));
  }
  SECTION("output.write_predictions") {
    REQUIRE_THROWS_WITH(parse_text(kMinimal, {"--output.write_predictions=sometimes"}),
                        contains("output.write_predictions: expected true/false/1/0/yes/no"));
  }
  SECTION("parallel") {
    REQUIRE_THROWS_WITH(
        parse_text(kMinimal, {"--parallel.batch_mode=local"}),
        contains("command line: parallel.batch_mode: expected one of global, per_rank, "
                 "got 'local'"));
    REQUIRE_THROWS_WITH(parse_text(kMinimal, {"--parallel.gpu_aware_mpi=cuda"}),
                        contains("parallel.gpu_aware_mpi: expected true/false/1/0/yes/no"));
  }
  SECTION("parallel.ensemble and parallel.ensemble_groups") {
    REQUIRE_THROWS_WITH(parse_text(kMinimal, {"--parallel.ensemble=0"}),
                        contains("command line: parallel.ensemble: expected an integer >= 1 "
                                 "(1 = one model), got '0'"));
    REQUIRE_THROWS_WITH(
        parse_text(kMinimal, {"--parallel.ensemble=3", "--parallel.ensemble_groups=4"}),
        contains("parallel.ensemble_groups: expected an integer in [0, parallel.ensemble = 3]"));
    REQUIRE_THROWS_WITH(
        parse_text(kMinimal, {"--parallel.ensemble=2", "--debug.dump_steps=2",
                              "--debug.dump_file=d.h5"}),
        contains("parallel.ensemble: expected 1 when debug.dump_steps > 0"));
    // A combination that lacks an option says which, and blames where the other came from.
    REQUIRE_THROWS_WITH(parse_text(kMinimal, {"--debug.dump_steps=2"}),
                        contains("command line: debug.dump_steps = 2 needs debug.dump_file, the "
                                 "HDF5 file to write the steps to"));
    REQUIRE_THROWS_WITH(parse_text(kMinimal + "[debug]\ndump_steps = 3\n"),
                        contains(".cfg: debug.dump_steps = 3 needs debug.dump_file"));
    REQUIRE_THROWS_WITH(
        parse_text(kMinimal + "[debug]\ndump_steps = 2\ndump_file = d.h5\n",
                   {"--train.lr_schedule=cosine"}),
        contains("command line: debug.dump_steps = 2 needs train.lr_schedule = constant and "
                 "train.lr_warmup_epochs = 0 (the dump records one learning rate), got cosine "
                 "and 0"));
    // A regression ensemble: the mixture of its members' Gaussians
    // (uq/regression_ensemble.hpp), once refused.
    const kbnn::RunConfig regression =
        parse_text(kMinimal + "[data]\nformat = hdf5\ntrain_file = a.h5\ntest_file = b.h5\n",
                   {"--parallel.ensemble=3", "--model.likelihood=gaussian"});
    CHECK(regression.parallel.ensemble == 3);
    CHECK(regression.model.regression());
    const kbnn::RunConfig five = parse_text(kMinimal, {"--parallel.ensemble=5"});
    CHECK(five.parallel.ensemble_groups == 0);
    CHECK_NOTHROW(kbnn::check_deck_for_ranks(five, 2));  // 2 groups of 1 rank
    const kbnn::RunConfig grouped =
        parse_text(kMinimal, {"--parallel.ensemble=5", "--parallel.ensemble_groups=3"});
    REQUIRE_THROWS_WITH(kbnn::check_deck_for_ranks(grouped, 2),
                        contains("parallel.ensemble_groups 3 needs at least as many ranks, the "
                                 "job has 2"));
    // A member trains on its group's ranks: 8 ranks in 2 groups give 4 per member.
    const kbnn::RunConfig small_batch = parse_text(
        kMinimal, {"--parallel.ensemble=2", "--train.batch_size=3"});
    REQUIRE_THROWS_WITH(kbnn::check_deck_for_ranks(small_batch, 8),
                        contains("train.batch_size 3 is smaller than the 4 ranks of an "
                                 "ensemble member's group"));
    CHECK_NOTHROW(kbnn::check_deck_for_ranks(small_batch, 6));
  }
  SECTION("unknown option in a new section lists its options") {
    REQUIRE_THROWS_WITH(parse_text(kMinimal + "[output]\ndirectory = x\n"),
                        contains("unknown option 'output.directory'; [output] has dir, name, "
                                 "checkpoint_every, write_predictions"));
    REQUIRE_THROWS_WITH(parse_text(kMinimal, {"--mpi.ranks=4"}),
                        contains("sections data, model, train, eval, ood, output, parallel"));
  }
}

TEST_CASE("learning-rate schedule and evaluation options: defaults, overrides, read back",
          "[deck]") {
  const auto d = parse_text(kMinimal);
  CHECK(d.train.lr_schedule == kbnn::LrSchedule::constant);
  CHECK(d.train.lr_warmup_epochs == 0);  // global mode keeps the rate it had
  CHECK(d.train.lr_decay_epochs == 0);
  CHECK(d.train.lr_decay_factor == 0.1);
  CHECK(d.eval.every_epochs == 0);
  CHECK(d.data.validation_fraction == 0);
  // per_rank mode warms its scaled rate up over 5 epochs unless the deck says otherwise.
  CHECK(parse_text(kMinimal, {"--parallel.batch_mode=per_rank"}).train.lr_warmup_epochs == 5);
  CHECK(parse_text(kMinimal, {"--parallel.batch_mode=per_rank", "--train.lr_warmup_epochs=0"})
            .train.lr_warmup_epochs == 0);
  CHECK(parse_text(kMinimal + "[train]\nlr_warmup_epochs = 0.5\n").train.lr_warmup_epochs == 0.5);

  const auto a = parse_text(kMinimal, {"--train.lr_schedule=step", "--train.lr_decay_epochs=2.5",
                                       "--train.lr_decay_factor=0.5", "--eval.every_epochs=2",
                                       "--data.validation_fraction=0.125",
                                       "--parallel.batch_mode=per_rank"});
  CHECK(a.train.lr_schedule == kbnn::LrSchedule::step);
  CHECK(a.train.lr_decay_epochs == 2.5);
  CHECK(a.train.lr_decay_factor == 0.5);
  CHECK(a.eval.every_epochs == 2);
  CHECK(a.data.validation_fraction == 0.125);
  const std::string text = kbnn::resolved_deck(a);
  for (const char* line : {"lr_warmup_epochs = 5\n", "lr_schedule = step\n",
                           "lr_decay_epochs = 2.5\n", "lr_decay_factor = 0.5\n",
                           "every_epochs = 2\n", "validation_fraction = 0.125\n"}) {
    INFO(line);
    CHECK(text.find(line) != std::string::npos);
  }
  const auto b = kbnn::parse_deck_text(text, "resolved");
  const std::string again = kbnn::resolved_deck(b);
  CHECK(again.substr(again.find('\n')) == text.substr(text.find('\n')));  // line 1: the source
  CHECK(parse_text(kMinimal, {"--train.lr_schedule=cosine"}).train.lr_schedule ==
        kbnn::LrSchedule::cosine);
  // An option that another one needs and that was left unset is named as missing, not as
  // a value someone gave.
  REQUIRE_THROWS_WITH(parse_text(kMinimal, {"--train.lr_schedule=step"}),
                      "command line: train.lr_decay_epochs: expected a number > 0 with "
                      "train.lr_schedule = step (epochs between decays); it is not set");
}

TEST_CASE("eval.temperature: a number or fit, read back, listed unless 1", "[deck]") {
  const auto d = parse_text(kMinimal);
  CHECK(d.eval.temperature == kbnn::Temperature{false, 1.0});
  CHECK(kbnn::resolved_deck(d).find("temperature") == std::string::npos);  // as before it existed
  const auto fixed = parse_text(kMinimal, {"--eval.temperature=0.75"});
  CHECK(fixed.eval.temperature == kbnn::Temperature{false, 0.75});
  CHECK(kbnn::resolved_deck(fixed).find("\ntemperature = 0.75\n") != std::string::npos);
  const auto fit =
      parse_text(kMinimal + "[data]\nvalidation_fraction = 0.1\n[eval]\ntemperature = fit\n");
  CHECK(fit.eval.temperature.fit);
  CHECK(fit.eval.every_epochs == 0);  // the fit alone uses the held-out examples
  const std::string text = kbnn::resolved_deck(fit);
  CHECK(text.find("\ntemperature = fit\n") != std::string::npos);
  CHECK(kbnn::parse_deck_text(text, "resolved").eval.temperature == fit.eval.temperature);
  // kbnn predict may set another T on a run that fitted one: the held-out examples were
  // used when it trained, so its deck is not refused for them.
  const auto predict = kbnn::parse_deck_text(text, "a run's deck", {"--eval.temperature=1"});
  CHECK(predict.eval.temperature == kbnn::Temperature{false, 1.0});
  CHECK(predict.data.validation_fraction == 0.1);
}

TEST_CASE("bad eval.temperature values are rejected", "[deck]") {
  for (const char* bad : {"0", "-1", "abc", "nan", "Fit"}) {
    INFO(bad);
    REQUIRE_THROWS_WITH(parse_text(kMinimal, {std::string("--eval.temperature=") + bad}),
                        kbnn::test::contains("eval.temperature: expected a number > 0, or fit"));
  }
  REQUIRE_THROWS_WITH(parse_text(kMinimal, {"--eval.temperature=fit"}),
                      kbnn::test::contains("eval.temperature: expected a number unless "
                               "data.validation_fraction > 0 (fit needs held-out examples"));
  REQUIRE_THROWS_WITH(
      parse_text(kMinimal + "[data]\nformat = hdf5\ntrain_file = a.h5\ntest_file = b.h5\n",
                 {"--eval.temperature=2", "--model.likelihood=gaussian"}),
      kbnn::test::contains("eval.temperature: expected 1 with a Gaussian model.likelihood"));
}

TEST_CASE("bad learning-rate schedule and evaluation options are rejected", "[deck]") {
  using kbnn::test::contains;
  REQUIRE_THROWS_WITH(parse_text(kMinimal, {"--train.lr_schedule=exponential"}),
                      contains("command line: train.lr_schedule: expected one of constant, "
                               "cosine, step, got 'exponential'"));
  REQUIRE_THROWS_WITH(parse_text(kMinimal, {"--train.lr_warmup_epochs=-1"}),
                      contains("train.lr_warmup_epochs: expected a number >= 0 (0 = no "
                               "warm-up), got '-1'"));
  REQUIRE_THROWS_WITH(parse_text(kMinimal, {"--train.lr_warmup_epochs=five"}),
                      contains("train.lr_warmup_epochs: expected a number, got 'five'"));
  REQUIRE_THROWS_WITH(parse_text(kMinimal, {"--train.lr_decay_epochs=-2"}),
                      contains("train.lr_decay_epochs: expected a number >= 0, got '-2'"));
  REQUIRE_THROWS_WITH(parse_text(kMinimal, {"--train.lr_decay_factor=1.5"}),
                      contains("train.lr_decay_factor: expected a number in [0, 1], got '1.5'"));
  SECTION("step decay needs a period and a factor above 0") {
    TempDeck deck(kMinimal + "[train]\nlr_schedule = step\n");
    REQUIRE_THROWS_WITH(kbnn::parse_deck(deck.path()),
                        contains("input deck " + deck.path() +
                                 ": train.lr_decay_epochs: expected a number > 0 with "
                                 "train.lr_schedule = step"));
    REQUIRE_THROWS_WITH(
        parse_text(kMinimal, {"--train.lr_schedule=step", "--train.lr_decay_epochs=1",
                              "--train.lr_decay_factor=0"}),
        contains("train.lr_decay_factor: expected a number in (0, 1] with train.lr_schedule = "
                 "step, got '0'"));
    // Cosine may fall to 0 and spans the run by default.
    CHECK_NOTHROW(parse_text(kMinimal, {"--train.lr_schedule=cosine",
                                        "--train.lr_decay_factor=0"}));
  }
  REQUIRE_THROWS_WITH(parse_text(kMinimal, {"--eval.every_epochs=-1"}),
                      contains("eval.every_epochs: expected an integer >= 0"));
  REQUIRE_THROWS_WITH(parse_text(kMinimal, {"--eval.every_epochs=1.5"}),
                      contains("eval.every_epochs: expected an integer, got '1.5'"));
  REQUIRE_THROWS_WITH(
      parse_text(kMinimal, {"--eval.every_epochs=1", "--data.validation_fraction=1"}),
      contains("data.validation_fraction: expected a number in [0, 1) (0 = no validation set), "
               "got '1'"));
  REQUIRE_THROWS_WITH(
      parse_text(kMinimal, {"--eval.every_epochs=1", "--data.validation_fraction=-0.1"}),
      contains("data.validation_fraction: expected a number in [0, 1)"));
  REQUIRE_THROWS_WITH(parse_text(kMinimal + "[data]\nvalidation_fraction = 0.2\n"),
                      contains(": data.validation_fraction: expected 0 unless "
                               "eval.every_epochs > 0 or eval.temperature = fit"));
}

// Where `line` ("key = ") stands in the [section] of `name` ("section.key") in an INI
// text; npos if it does not.
std::size_t find_in_section(const std::string& text, const std::string& name,
                            const std::string& line) {
  const auto section = text.find("\n[" + name.substr(0, name.find('.')) + "]");
  if (section == std::string::npos) return std::string::npos;
  const auto end = text.find("\n[", section + 1);
  const auto at = text.find(line, section);
  return at < end ? at : std::string::npos;
}

TEST_CASE("kbnn deck documents every option the parser knows, and reads back", "[deck]") {
  const std::string text = kbnn::documented_deck();
  const auto documented = kbnn::documented_names();
  for (const std::string& name : kbnn::deck_option_names()) {
    INFO(name);
    const char* doc = kbnn::deck_doc(name);
    REQUIRE(doc != nullptr);
    CHECK(std::string(doc).size() > 10);
    // Its comment stands right above the option in `kbnn deck`.
    const std::string key = name.substr(name.find('.') + 1);
    const std::string first_words = std::string(doc).substr(0, 20);
    const auto at = find_in_section(text, name, "\n" + key + " = ");
    REQUIRE(at != std::string::npos);
    // The text is in the comment lines just above it.
    const auto doc_at = text.rfind(first_words, at);
    REQUIRE(doc_at != std::string::npos);
    for (auto line = text.find('\n', doc_at); line < at; line = text.find('\n', line + 1))
      CHECK(text[line + 1] == '#');
  }
  // No text for an option that is gone, and one per section.
  for (const std::string& name : documented) {
    INFO(name);
    const auto options = kbnn::deck_option_names();
    const bool section = name.find('.') == std::string::npos;
    CHECK((section ? text.find("[" + name + "]") != std::string::npos
                   : std::find(options.begin(), options.end(), name) != options.end()));
  }
  CHECK(text.find("(undocumented)") == std::string::npos);
  // It is a deck: it parses, and to the defaults (LeNet-5's layers).
  TempDeck deck(text);
  const kbnn::RunConfig read = kbnn::parse_deck(deck.path());
  const kbnn::RunConfig defaults;
  CHECK(read.model.layers.size() == 12);
  CHECK(read.train.lr == defaults.train.lr);
  CHECK(read.train.momentum == defaults.train.momentum);
  CHECK(read.output.name.empty());
  CHECK_FALSE(read.output.overwrite);
}

TEST_CASE("the resolved deck holds each section once", "[deck]") {
  const std::string text = kbnn::resolved_deck(parse_text(kMinimal, {"--eval.every_epochs=2"}));
  for (const char* section : {"[data]", "[model]", "[train]", "[eval]", "[ood]", "[output]",
                              "[parallel]", "[debug]"}) {
    INFO(section);
    const auto first = text.find(section);
    REQUIRE(first != std::string::npos);
    CHECK(text.find(section, first + 1) == std::string::npos);
  }
  CHECK(text.find("[eval]\nsamples = 10\nbatch_size = 1000\nevery_epochs = 2\n") != std::string::npos);
}

TEST_CASE("the default deck file names every option, in a line or a comment", "[deck]") {
  std::ifstream in(kInput + "fashion_mnist_lenet5.cfg");
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  for (const std::string& name : kbnn::deck_option_names()) {
    const std::string key = name.substr(name.find('.') + 1);
    INFO(name);
    const bool line = find_in_section(text, name, "\n" + key + " =") != std::string::npos ||
                      find_in_section(text, name, "\n# " + key + " =") != std::string::npos;
    CHECK(line);
  }
}

TEST_CASE("an [ood] set given in part is refused, naming what is missing", "[deck]") {
  using kbnn::test::contains;
  const std::string missing = "expected ood.format (idx, cifar10 or hdf5) or ood.shift beside it";
  REQUIRE_THROWS_WITH(parse_text(kMinimal, {"--ood.dir=/tmp/mnist"}),
                      contains("command line: ood.dir: " + missing));
  REQUIRE_THROWS_WITH(parse_text(kMinimal, {"--ood.file=/tmp/mnist.h5"}),
                      contains("ood.file: " + missing));
  REQUIRE_THROWS_WITH(parse_text(kMinimal + "[ood]\nlimit = 100\n"), contains("ood.limit: " + missing));
  REQUIRE_THROWS_WITH(parse_text(kMinimal, {"--ood.name=digits"}), contains("ood.name: " + missing));
  REQUIRE_THROWS_WITH(parse_text(kMinimal, {"--ood.format=hdf5"}),
                      contains("ood.format: expected ood.file to be set with ood.format = hdf5"));
  REQUIRE_THROWS_WITH(parse_text(kMinimal, {"--ood.format=idx"}),
                      contains("ood.format: expected ood.dir to be set with ood.format = idx"));
  REQUIRE_THROWS_WITH(parse_text(kMinimal, {"--ood.format=idx", "--ood.dir=/x", "--ood.file=/y"}),
                      contains("ood.file: expected empty unless ood.format = hdf5"));
  REQUIRE_THROWS_WITH(parse_text(kMinimal, {"--ood.shift=rot90", "--ood.dir=/x"}),
                      contains("ood.shift: expected none when ood.dir or ood.file names a data set"));
  // Whole sets pass.
  CHECK(parse_text(kMinimal, {"--ood.format=idx", "--ood.dir=/x", "--ood.limit=5"}).ood.enabled());
  CHECK(parse_text(kMinimal, {"--ood.shift=invert", "--ood.name=inv"}).ood.enabled());
}

TEST_CASE("set names that would collide in the output are refused up front", "[deck]") {
  using kbnn::test::contains;
  const std::string hdf5 =
      kMinimal + "[data]\nformat = hdf5\ntrain_file = a.h5\ntest_file = b.h5\n";
  for (const bool regression : {false, true}) {
    INFO("regression " << regression);
    const auto parse = [&](std::vector<std::string> args) {
      if (!regression) return parse_text(kMinimal, args);
      args.push_back("--model.likelihood=gaussian");
      return parse_text(hdf5, args);
    };
    // A training run writes its test set as /predictions/test: the OOD set's must differ,
    // or the run would stop after training with "/predictions/test: already written".
    REQUIRE_THROWS_WITH(parse({"--ood.shift=noise", "--ood.name=test"}),
                        contains("command line: ood.name must not be 'test', the test set's name"));
    REQUIRE_THROWS_WITH(
        parse({"--ood.format=hdf5", "--ood.file=/data/test.h5"}),
        contains("command line: ood.file names the OOD set 'test' (ood.name is empty), but "
                 "ood.name must not be 'test'"));
    // /metrics/ood holds the OOD scores' separations (and a regression's OOD set its own
    // /metrics/<set>): no set may take the name.
    REQUIRE_THROWS_WITH(parse({"--ood.shift=noise", "--ood.name=ood"}),
                        contains("ood.name must not be 'ood', which names /metrics/ood"));
    // A name kbnn picks steers clear of it.
    CHECK(kbnn::ood_set_name(parse({"--ood.format=hdf5", "--ood.file=/data/ood.h5"})) == "ood_set");
    REQUIRE_THROWS_WITH(parse({"--ood.shift=noise", "--ood.name=.."}),
                        contains("ood.name must not be '..'"));
    REQUIRE_THROWS_WITH(parse({"--ood.shift=noise", "--ood.name=a/b"}),
                        contains("ood.name must not contain '/', got 'a/b'"));
    CHECK(parse({"--ood.shift=noise", "--ood.name=static"}).ood.enabled());
  }
  REQUIRE_THROWS_WITH(parse_text(kMinimal, {"--ood.format=idx", "--ood.dir=/data/test/"}),
                      contains("command line: ood.dir names the OOD set 'test'"));
  // kbnn predict names its set with --set-name: an OOD set named test is its business.
  const kbnn::RunConfig trained = parse_text(kMinimal);
  CHECK_NOTHROW(kbnn::parse_deck_text(kbnn::resolved_deck(trained), "model.h5: deck",
                                      {"--ood.shift=noise", "--ood.name=test"}));
  REQUIRE_THROWS_WITH(kbnn::parse_deck_text(kbnn::resolved_deck(trained), "model.h5: deck",
                                            {"--ood.shift=noise", "--ood.name=ood"}),
                      contains("ood.name must not be 'ood'"));
  // A data set's name that says nothing falls back to a name that is free.
  CHECK(kbnn::ood_set_name(parse_text(kMinimal, {"--ood.format=idx", "--ood.dir=/"})) == "ood_set");
  CHECK(kbnn::ood_set_name(parse_text(kMinimal, {"--ood.format=idx", "--ood.dir=/data/ood/"})) ==
        "ood_set");

  CHECK(kbnn::set_name_problem("test").empty());
  CHECK(kbnn::set_name_problem("") ==
        "must not be empty: it names /predictions/<set> and /metrics/<set>");
  CHECK_THAT(kbnn::set_name_problem("ood"), contains("must not be 'ood'"));
  CHECK_THAT(kbnn::set_name_problem("."), contains("must not be '.'"));
}
