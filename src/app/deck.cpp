// Reading, validating and writing the input deck (see deck.hpp for the format).
//
// Boost.ProgramOptions does the tokenising (INI sections, `--k=v` / `--k v`), but every
// option is registered as a plain string and converted here: that way each message can
// say which source (file or command line) gave the bad value, which option it was and what
// was expected, instead of Boost's generic "the argument ... is invalid".
#include "app/deck.hpp"

#include <boost/program_options.hpp>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <optional>
#include <sstream>
#include <type_traits>

#include "app/deck_docs.hpp"
#include "core/error.hpp"
#include "core/path_note.hpp"
#include "parallel/rank_groups.hpp"

namespace po = boost::program_options;

namespace kbnn {
namespace {

// The scalar options of each deck section, in the order the resolved deck lists them.
template <class Section, class Visit>
void for_each_data_option(Section& d, Visit& f) {
  f("data.format", d.format);
  f("data.dir", d.dir);
  f("data.train_file", d.train_file);
  f("data.test_file", d.test_file);
  f("data.train_limit", d.train_limit);
  f("data.test_limit", d.test_limit);
  f("data.shuffle", d.shuffle);
  f("data.validation_fraction", d.validation_fraction);
  f("data.features", d.features);
  f("data.targets", d.targets);
  f("data.layout", d.layout);
  f("data.test_fraction", d.test_fraction);
  f("data.standardize", d.standardize);
}

template <class Section, class Visit>
void for_each_model_option(Section& m, Visit& f) {
  f("model.estimator", m.estimator);
  f("model.prior_sigma", m.prior_sigma);
  f("model.bayesian_bias", m.bayesian_bias);
  f("model.noise", m.noise);
  f("model.init_mu_stddev", m.init_mu_stddev);
  f("model.init_rho_mean", m.init_rho_mean);
  f("model.init_rho_stddev", m.init_rho_stddev);
  f("model.init_bias_stddev", m.init_bias_stddev);
  f("model.init_from", m.init_from);
  f("model.moped_delta", m.moped_delta);
  f("model.likelihood", m.likelihood);
}

template <class Section, class Visit>
void for_each_train_option(Section& t, Visit& f) {
  f("train.epochs", t.epochs);
  f("train.batch_size", t.batch_size);
  f("train.lr", t.lr);
  f("train.optimizer", t.optimizer);
  f("train.momentum", t.momentum);
  f("train.adam_beta1", t.adam_beta1);
  f("train.adam_beta2", t.adam_beta2);
  f("train.adam_epsilon", t.adam_epsilon);
  f("train.clip_norm", t.clip_norm);
  f("train.seed", t.seed);
  f("train.kl_schedule", t.kl_schedule);
  f("train.kl_beta", t.kl_beta);
  f("train.kl_warmup_epochs", t.kl_warmup_epochs);
  f("train.kl_cycles", t.kl_cycles);
  f("train.kl_ratio", t.kl_ratio);
  f("train.lr_warmup_epochs", t.lr_warmup_epochs);
  f("train.lr_schedule", t.lr_schedule);
  f("train.lr_decay_epochs", t.lr_decay_epochs);
  f("train.lr_decay_factor", t.lr_decay_factor);
  f("train.log_every", t.log_every);
  f("train.max_steps", t.max_steps);
  f("train.early_stop", t.early_stop);
  f("train.shuffle", t.shuffle);
}

// eval, ood, output, parallel and debug: how the run is evaluated, written and spread.
template <class Config, class Visit>
void for_each_run_option(Config& c, Visit& f) {
  f("eval.samples", c.eval.samples);
  f("eval.batch_size", c.eval.batch_size);
  f("eval.every_epochs", c.eval.every_epochs);
  f("eval.temperature", c.eval.temperature);
  f("ood.format", c.ood.format);
  f("ood.dir", c.ood.dir);
  f("ood.file", c.ood.file);
  f("ood.limit", c.ood.limit);
  f("ood.shift", c.ood.shift);
  f("ood.name", c.ood.name);
  f("output.dir", c.output.dir);
  f("output.name", c.output.name);
  f("output.checkpoint_every", c.output.checkpoint_every);
  f("output.write_predictions", c.output.write_predictions);
  f("output.overwrite", c.output.overwrite);
  f("parallel.batch_mode", c.parallel.batch_mode);
  f("parallel.gpu_aware_mpi", c.parallel.gpu_aware_mpi);
  f("parallel.ensemble", c.parallel.ensemble);
  f("parallel.ensemble_groups", c.parallel.ensemble_groups);
  f("debug.dump_steps", c.debug.dump_steps);
  f("debug.dump_file", c.debug.dump_file);
}

// Every scalar option, in the order the resolved deck lists them. One list serves
// registration, reading and writing, so the three cannot drift apart.
// `model.layer` is not here: it is a repeated option and handled on its own.
template <class Config, class Visit>
void for_each_option(Config& c, Visit&& f) {
  for_each_data_option(c.data, f);
  for_each_model_option(c.model, f);
  for_each_train_option(c.train, f);
  for_each_run_option(c, f);
}

const char* const kLayerOption = "model.layer";

std::string trim(const std::string& s) {
  const auto first = s.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) return "";
  return s.substr(first, s.find_last_not_of(" \t\r\n") - first + 1);
}

// ---- text -> value; each returns false when the text is not a value of that type.

template <class Int>
bool parse_integer(const std::string& s, Int& out) {
  Int v{};
  const char* end = s.data() + s.size();
  const auto [ptr, ec] = std::from_chars(s.data(), end, v);
  if (s.empty() || ec != std::errc() || ptr != end) return false;
  out = v;
  return true;
}
// Why an integer's text does not fit Int: "at most 2147483647" (or "at least ...") when
// it is an integer too large for the type, "" when it is something else or fits.
template <class Int>
std::string integer_bound(const std::string& s) {
  Int v{};
  const char* end = s.data() + s.size();
  const auto [ptr, ec] = std::from_chars(s.data(), end, v);
  if (ec != std::errc::result_out_of_range || ptr != end) return "";
  return s[0] == '-' ? concat("at least ", std::numeric_limits<Int>::min())
                     : concat("at most ", std::numeric_limits<Int>::max());
}
bool parse_value(const std::string& s, int& out) { return parse_integer(s, out); }
bool parse_value(const std::string& s, std::int64_t& out) { return parse_integer(s, out); }
bool parse_value(const std::string& s, std::uint64_t& out) { return parse_integer(s, out); }
bool parse_value(const std::string& s, std::string& out) {
  out = s;
  return true;
}
bool parse_value(const std::string& s, double& out) {
  // strtod rather than from_chars<double>: the latter is missing from some cluster toolchains.
  if (s.empty()) return false;
  char* end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  if (end != s.c_str() + s.size() || !std::isfinite(v)) return false;
  out = v;
  return true;
}
bool parse_value(const std::string& s, bool& out) {
  std::string t = s;
  std::transform(t.begin(), t.end(), t.begin(), [](unsigned char ch) { return std::tolower(ch); });
  if (t == "true" || t == "yes" || t == "1") return out = true, true;
  if (t == "false" || t == "no" || t == "0") return out = false, true;
  return false;
}

const char* expected(const int&) { return "an integer"; }
const char* expected(const std::int64_t&) { return "an integer"; }
const char* expected(const std::uint64_t&) { return "a non-negative integer"; }
const char* expected(const double&) { return "a number"; }
const char* expected(const bool&) { return "true/false/1/0/yes/no"; }
const char* expected(const std::string&) { return "a string"; }

// Choices: the deck's words for an enum (core/choices.hpp).
template <class Enum, class = std::enable_if_t<std::is_enum_v<Enum>>>
bool parse_value(const std::string& s, Enum& out) {
  return parse_choice(s, out);
}
template <class Enum, class = std::enable_if_t<std::is_enum_v<Enum>>>
std::string expected(const Enum&) {
  return "one of " + choice_words<Enum>();
}
// An optional choice (ood.format): the empty word leaves it unset.
template <class Enum>
bool parse_value(const std::string& s, std::optional<Enum>& out) {
  Enum value{};
  if (s.empty()) return out.reset(), true;
  if (!parse_choice(s, value)) return false;
  return out = value, true;
}
template <class Enum>
std::string expected(const std::optional<Enum>&) {
  return "one of " + choice_words<Enum>() + ", or empty for none";
}

// eval.temperature: "fit", or a number (checked > 0 with the other options).
bool parse_value(const std::string& s, Temperature& out) {
  if (s == "fit") return out = Temperature{true, 1.0}, true;
  Temperature fixed;
  if (!parse_value(s, fixed.value)) return false;
  return out = fixed, true;
}
const char* expected(const Temperature&) { return "a number > 0, or fit"; }

// ---- value -> text, such that parse_value reads back exactly the same value.

std::string format_value(const std::string& v) { return v; }
std::string format_value(bool v) { return v ? "true" : "false"; }
std::string format_value(int v) { return std::to_string(v); }
std::string format_value(std::int64_t v) { return std::to_string(v); }
std::string format_value(std::uint64_t v) { return std::to_string(v); }
template <class Enum, class = std::enable_if_t<std::is_enum_v<Enum>>>
std::string format_value(Enum v) {
  return word_of(v);
}
template <class Enum>
std::string format_value(const std::optional<Enum>& v) {
  return v ? word_of(*v) : "";
}
std::string format_value(double v) {
  // The shortest text that round-trips: "0.001", not "0.0010000000000000000208".
  for (int precision = 6;; ++precision) {
    std::ostringstream os;
    os.precision(precision);
    os << v;
    if (std::strtod(os.str().c_str(), nullptr) == v || precision >= 17) return os.str();
  }
}

std::string format_value(const Temperature& t) { return t.fit ? "fit" : format_value(t.value); }

// ---- layers

struct LayerRule {
  LayerKind kind;
  std::vector<std::string> keys;      // allowed, in canonical order
  std::vector<std::string> required;
};

const std::vector<LayerRule>& layer_rules() {
  static const std::vector<LayerRule> rules = {
      {LayerKind::conv2d, {"out", "kernel", "stride", "padding", "estimator"}, {"out", "kernel"}},
      {LayerKind::dense, {"out", "estimator"}, {"out"}},
      {LayerKind::relu, {}, {}},
      {LayerKind::maxpool2d, {"size", "stride"}, {}},
      {LayerKind::flatten, {}, {}},
      {LayerKind::conv1d, {"out", "kernel", "stride", "padding", "estimator"}, {"out", "kernel"}},
      {LayerKind::maxpool1d, {"size", "stride"}, {}},
  };
  return rules;
}

std::string join(const std::vector<std::string>& words) {
  std::string s;
  for (const auto& w : words) s += (s.empty() ? "" : ", ") + w;
  return s;
}

// Sets one key of a layer line from its value; returns what is wrong with the value, or "".
std::string set_layer_key(LayerSpec& spec, const std::string& key, const std::string& value) {
  if (key == "estimator") {
    Estimator e{};
    if (!parse_choice(value, e))
      return concat("estimator: expected one of ", choice_words<Estimator>(), ", got '", value,
                    "'");
    spec.estimator = e;
    return "";
  }
  // Every other key is a size; only padding may be zero.
  const int min = key == "padding" ? 0 : 1;
  int v = 0;
  if (!parse_integer(value, v) || v < min) {
    const std::string bound = integer_bound<int>(value);
    return concat(key, ": expected an integer >= ", min, bound.empty() ? "" : " and ", bound,
                  ", got '", value, "'");
  }
  if (key == "out") spec.out = v;
  if (key == "kernel") spec.kernel = v;
  if (key == "stride") spec.stride = v;
  if (key == "padding") spec.padding = v;
  if (key == "size") spec.size = v;
  return "";
}

// `context` says where the line came from ("model.layer" or "input deck x.cfg: model.layer 3").
LayerSpec parse_layer_in(const std::string& line, const std::string& context) {
  LayerSpec spec;
  spec.text = trim(line);
  auto fail = [&](const std::string& problem) {
    return InputError(concat(context, " '", spec.text, "': ", problem));
  };

  std::istringstream tokens(spec.text);
  std::string kind;
  if (!(tokens >> kind))
    throw fail(concat("expected a layer kind (", choice_words<LayerKind>(), ")"));
  if (!parse_choice(kind, spec.kind))
    throw fail(concat("unknown layer kind '", kind, "', expected one of ",
                      choice_words<LayerKind>()));
  const auto rule = std::find_if(layer_rules().begin(), layer_rules().end(),
                                 [&](const LayerRule& r) { return spec.kind == r.kind; });

  std::vector<std::string> seen;
  for (std::string token; tokens >> token;) {
    const auto eq = token.find('=');
    if (eq == std::string::npos) throw fail(concat("expected key=value, got '", token, "'"));
    const std::string key = token.substr(0, eq), value = token.substr(eq + 1);
    if (std::find(rule->keys.begin(), rule->keys.end(), key) == rule->keys.end()) {
      throw fail(rule->keys.empty()
                     ? concat(kind, " takes no keys, got '", token, "'")
                     : concat("unknown key '", key, "' for ", kind, ", expected one of ",
                              join(rule->keys)));
    }
    if (std::find(seen.begin(), seen.end(), key) != seen.end())
      throw fail(concat("key '", key, "' is given more than once"));
    seen.push_back(key);

    if (const std::string problem = set_layer_key(spec, key, value); !problem.empty())
      throw fail(problem);
  }
  for (const auto& key : rule->required) {
    if (std::find(seen.begin(), seen.end(), key) == seen.end())
      throw fail(concat(kind, " requires ", key, "=<integer>"));
  }
  // Non-overlapping windows unless asked otherwise, as in every framework's max pooling.
  const bool has_stride = std::find(seen.begin(), seen.end(), "stride") != seen.end();
  if (spec.is_pooling() && !has_stride) spec.stride = spec.size;
  return spec;
}

// The fully explicit form of a layer, for the resolved deck.
std::string canonical_line(const LayerSpec& l) {
  std::string s = word_of(l.kind);
  if (l.has_weights()) s += concat(" out=", l.out);
  if (l.is_convolution())
    s += concat(" kernel=", l.kernel, " stride=", l.stride, " padding=", l.padding);
  if (l.is_pooling()) s += concat(" size=", l.size, " stride=", l.stride);
  if (l.estimator) s += concat(" estimator=", word_of(*l.estimator));
  return s;
}

// ---- reading the two sources

// What one source (the file or the command line) said.
struct Source {
  std::string where;                          // "input deck x.cfg" or "command line"
  std::map<std::string, std::string> values;  // scalar options, as text
  std::vector<std::string> layers;            // model.layer lines, in order
};

po::options_description option_table() {
  po::options_description table;
  RunConfig defaults;
  for_each_option(defaults, [&](const char* name, auto&) {
    table.add_options()(name, po::value<std::string>());
  });
  table.add_options()(kLayerOption, po::value<std::string>());
  return table;
}

std::string unknown_option_message(const std::string& where, const std::string& name) {
  // Point at the section's real options: most unknown options are typos.
  const std::string section = name.substr(0, name.find('.'));
  std::vector<std::string> known, sections;
  RunConfig defaults;
  for_each_option(defaults, [&](const char* option, auto&) {
    const std::string o = option;
    const std::string s = o.substr(0, o.find('.'));
    if (std::find(sections.begin(), sections.end(), s) == sections.end()) sections.push_back(s);
    if (s == section) known.push_back(o.substr(section.size() + 1));
  });
  if (section == "model") known.insert(known.begin(), "layer");
  const std::string hint =
      known.empty() ? concat("options are section.option with sections ", join(sections))
                    : concat("[", section, "] has ", join(known));
  return concat(where, ": unknown option '", name, "'; ", hint);
}

void collect(const po::parsed_options& parsed, Source& src) {
  for (const auto& opt : parsed.options) {
    const std::string value = opt.value.empty() ? "" : trim(opt.value.front());
    if (opt.string_key.empty())  // a bare word; Boost calls it positional
      throw InputError(concat(src.where, ": unexpected argument '", value,
                              "', expected --section.option=value"));
    if (opt.unregistered) throw InputError(unknown_option_message(src.where, opt.string_key));
    if (opt.string_key == kLayerOption) {
      src.layers.push_back(value);
    } else if (!src.values.emplace(opt.string_key, value).second) {
      throw InputError(concat(src.where, ": option '", opt.string_key,
                              "' is given more than once"));
    }
  }
}

Source read_stream(std::istream& in, std::string where, const po::options_description& table) {
  Source src{std::move(where), {}, {}};
  try {
    collect(po::parse_config_file(in, table, /*allow_unregistered=*/true), src);
  } catch (const po::error& e) {  // e.g. a line that is neither [section] nor key = value
    throw InputError(concat(src.where, ": ", e.what()));
  }
  return src;
}

Source read_file(const std::string& path, const po::options_description& table) {
  const std::string where = concat("input deck ", path);
  if (std::filesystem::is_directory(path))
    throw InputError(concat(where, ": is a directory, expected an INI file"));
  std::ifstream in(path);
  if (!in)
    throw InputError(
        concat(where, ": cannot open the file (does it exist?)", relative_path_note(path)));
  return read_stream(in, where, table);
}

Source read_command_line(const std::vector<std::string>& args,
                         const po::options_description& table) {
  Source src{"command line", {}, {}};
  // No guessing: "--train.epo=3" must be an error, not a silent "--train.epochs=3".
  const int style = po::command_line_style::unix_style & ~po::command_line_style::allow_guessing;
  try {
    collect(po::command_line_parser(args).options(table).style(style).allow_unregistered().run(),
            src);
  } catch (const po::error& e) {  // e.g. "--train.epochs" with no value
    throw InputError(concat(src.where, ": ", e.what()));
  }
  return src;
}

// Where each applied value came from, so that a range error names the right source.
struct Given {
  std::string where, text;
  // "at most 2147483647" when the text is an integer too large for the option's type
  // (the value is clamped to it): the range check then names both bounds.
  std::string bound;
};

// An integer option's text beyond its type: the value clamped to the bound it passed.
template <class Field>
std::string clamp_integer(const std::string& text, Field& field) {
  if constexpr (std::is_integral_v<Field> && !std::is_same_v<Field, bool>) {
    const std::string bound = integer_bound<Field>(text);
    if (!bound.empty())
      field = text[0] == '-' ? std::numeric_limits<Field>::min()
                             : std::numeric_limits<Field>::max();
    return bound;
  }
  return "";
}

void apply(const Source& src, RunConfig& cfg, std::map<std::string, Given>& given) {
  for_each_option(cfg, [&](const char* name, auto& field) {
    const auto it = src.values.find(name);
    if (it == src.values.end()) return;
    std::string bound;
    if (!parse_value(it->second, field) && (bound = clamp_integer(it->second, field)).empty())
      throw InputError(concat(src.where, ": ", name, ": expected ", expected(field), ", got '",
                              it->second, "'"));
    given[name] = Given{src.where, it->second, bound};
  });
}

// Checks option values against their ranges; a failing one throws an InputError that
// names the source that gave it (defaults always pass, so a failing option was given;
// the fallback to the deck is only defensive). An integer beyond its type fails its
// check whatever the clamped value, and finally fails anyway (beyond_type).
class OptionCheck {
 public:
  OptionCheck(const std::map<std::string, Given>& given, std::string deck_where)
      : given_(given), deck_where_(std::move(deck_where)) {}

  // `related`: the options that `what` holds `name` against; the message blames the
  // command line when it gave any of them (it overrides the deck).
  void operator()(bool ok, const char* name, const std::string& what,
                  std::initializer_list<const char*> related = {}) const {
    const auto it = given_.find(name);
    const bool given = it != given_.end(), beyond = given && !it->second.bound.empty();
    if (ok && !beyond) return;
    const std::string source = blamed(name, related);
    // An option left at its default fails only against another one (train.lr_decay_epochs
    // against lr_schedule = step): it is missing, not wrong.
    if (!given)
      throw InputError(concat(source, ": ", name, ": expected ", what, "; it is not set"));
    const Given& g = it->second;
    throw InputError(concat(source, ": ", name, ": expected ", what,
                            beyond ? " and " + g.bound : "", ", got '", g.text, "'",
                            source != g.where ? concat(" (from ", g.where, ")") : ""));
  }
  // A combination that lacks an option: `problem` says what is missing
  // ("debug.dump_steps = 2 needs debug.dump_file"), blamed as operator() blames.
  void combination(bool ok, const char* name, std::initializer_list<const char*> related,
                   const std::string& problem) const {
    if (!ok) throw InputError(concat(blamed(name, related), ": ", problem));
  }
  // An integer beyond its type that no range check looked at.
  void beyond_type() const {
    for (const auto& [name, g] : given_)
      if (!g.bound.empty())
        throw InputError(concat(g.where, ": ", name, ": expected an integer ", g.bound, ", got '",
                                g.text, "'"));
  }
  // The file or command line that gave the option.
  std::string where(const char* name) const {
    const auto it = given_.find(name);
    return it != given_.end() ? it->second.where : deck_where_;
  }

 private:
  // The source that gave `name`, unless the deck did and another source (the command
  // line) gave one of `related`.
  std::string blamed(const char* name, std::initializer_list<const char*> related) const {
    const std::string source = where(name);
    if (source != deck_where_) return source;
    for (const char* option : related)
      if (where(option) != deck_where_) return where(option);
    return source;
  }

  const std::map<std::string, Given>& given_;
  std::string deck_where_;
};

// Training reads data.train_file and a test set: data.test_file, or the tail of the
// training file that data.test_fraction cuts off. A trained model (to_train false)
// predicts on the test set alone.
void validate_hdf5_files(const DataConfig& d, const OptionCheck& check, bool to_train) {
  const bool test_set = !d.test_file.empty() || d.test_fraction > 0;
  if (!to_train && d.test_file.empty() && (d.test_fraction == 0 || d.train_file.empty()))
    throw InputError(concat(check.where("data.format"),
                            ": data.format = hdf5 needs data.test_file, the HDF5 file to "
                            "predict on (with the datasets images and labels, or those "
                            "data.features and data.targets name; labels are optional)"));
  if (to_train && (d.train_file.empty() || !test_set))
    throw InputError(concat(check.where("data.format"),
                            ": data.format = hdf5 requires data.train_file and "
                            "data.test_file (HDF5 files with datasets images and labels, "
                            "or those data.features and data.targets name), or "
                            "data.test_fraction to split the training file",
                            d.train_file.empty() ? "; data.train_file is not set" : "",
                            !test_set ? "; data.test_file is not set" : ""));
}

void validate_data(const RunConfig& c, const OptionCheck& check, bool to_train) {
  if (c.data.format == DataFormat::hdf5) {
    validate_hdf5_files(c.data, check, to_train);
    check(c.data.test_file.empty() || c.data.test_fraction == 0, "data.test_fraction",
          "0 when data.test_file names the test set", {"data.test_file"});
    check(!c.data.features.empty(), "data.features", "a dataset name");
    check(!c.data.targets.empty(), "data.targets", "a dataset name");
  } else {
    check(!c.data.dir.empty(), "data.dir", "a directory");
  }
  check(c.data.train_limit >= 0, "data.train_limit", "an integer >= 0 (0 = all)");
  check(c.data.test_limit >= 0, "data.test_limit", "an integer >= 0 (0 = all)");
  check(c.data.test_fraction >= 0 && c.data.test_fraction < 1, "data.test_fraction",
        "a number in [0, 1) (0 = the test set is data.test_file)");
  check(c.data.validation_fraction >= 0 && c.data.validation_fraction < 1,
        "data.validation_fraction", "a number in [0, 1) (0 = no validation set)");
}

// What only a deck to train with must satisfy (not a trained run's deck read back with
// kbnn predict's options): held-out examples that nothing evaluates would only be lost
// to training.
void validate_training(const RunConfig& c, const OptionCheck& check) {
  check(c.data.validation_fraction == 0 || c.eval.every_epochs > 0 || c.eval.temperature.fit,
        "data.validation_fraction",
        "0 unless eval.every_epochs > 0 or eval.temperature = fit (the held-out set is "
        "evaluated during training, or the temperature fitted to it)",
        {"eval.every_epochs", "eval.temperature"});
  // Stopping on the test set would choose the model by it.
  check.combination(
      c.train.early_stop == 0 || (c.data.validation_fraction > 0 && c.eval.every_epochs > 0),
      "train.early_stop", {"data.validation_fraction", "eval.every_epochs"},
      concat("train.early_stop = ", c.train.early_stop, " needs validation rows evaluated during "
             "training: data.validation_fraction > 0 and eval.every_epochs > 0 (the test set "
             "must not choose the model)"));
}

// A Gaussian likelihood needs real targets (HDF5) and nothing that assumes classes.
void validate_regression(const RunConfig& c, const OptionCheck& check) {
  if (!c.model.regression()) return;
  const std::initializer_list<const char*> likelihood = {"model.likelihood"};
  check(c.data.format == DataFormat::hdf5, "model.likelihood",
        "categorical unless data.format = hdf5 (real-valued targets come from HDF5 files)",
        {"data.format"});
  check(!c.ood.format || c.ood.format == DataFormat::hdf5, "ood.format",
        "hdf5 (or empty) with a Gaussian model.likelihood", likelihood);
  check(c.debug.dump_steps == 0, "debug.dump_steps",
        "0 with a Gaussian model.likelihood (the step dump replays classifiers)", likelihood);
  check(c.eval.temperature == Temperature{}, "eval.temperature",
        "1 with a Gaussian model.likelihood (a temperature scales class logits)", likelihood);
}

void validate_model(const ModelConfig& m, const OptionCheck& check) {
  check(m.prior_sigma > 0, "model.prior_sigma", "a number > 0");
  check(m.init_mu_stddev >= 0, "model.init_mu_stddev", "a number >= 0");
  check(m.init_rho_stddev >= 0, "model.init_rho_stddev", "a number >= 0");
  check(m.init_bias_stddev >= 0, "model.init_bias_stddev", "a number >= 0");
  check(m.moped_delta >= 0, "model.moped_delta", "a number >= 0 (0 = off)");
  check(m.moped_delta == 0 || !m.init_from.empty(), "model.moped_delta",
        "0 unless model.init_from names a run file whose weights set mu", {"model.init_from"});
}

void validate_train(const TrainConfig& t, const OptionCheck& check) {
  check(t.epochs >= 1, "train.epochs", "an integer >= 1");
  check(t.batch_size >= 1, "train.batch_size", "an integer >= 1");
  check(t.lr > 0, "train.lr", "a number > 0");
  check(t.momentum >= 0 && t.momentum < 1, "train.momentum", "a number in [0, 1)");
  check(t.adam_beta1 >= 0 && t.adam_beta1 < 1, "train.adam_beta1", "a number in [0, 1)");
  check(t.adam_beta2 >= 0 && t.adam_beta2 < 1, "train.adam_beta2", "a number in [0, 1)");
  check(t.adam_epsilon > 0, "train.adam_epsilon", "a number > 0");
  check(t.clip_norm >= 0, "train.clip_norm", "a number >= 0 (0 = no clipping)");
  check(t.kl_beta >= 0, "train.kl_beta", "a number >= 0");
  check(t.kl_warmup_epochs >= 1, "train.kl_warmup_epochs", "an integer >= 1");
  check(t.kl_cycles >= 1, "train.kl_cycles", "an integer >= 1");
  check(t.kl_ratio > 0 && t.kl_ratio <= 1, "train.kl_ratio", "a number in (0, 1]");
  check(t.lr_warmup_epochs >= 0, "train.lr_warmup_epochs", "a number >= 0 (0 = no warm-up)");
  check(t.lr_decay_epochs >= 0, "train.lr_decay_epochs", "a number >= 0");
  check(t.lr_decay_factor >= 0 && t.lr_decay_factor <= 1, "train.lr_decay_factor",
        "a number in [0, 1]");
  if (t.lr_schedule == LrSchedule::step) {
    check(t.lr_decay_epochs > 0, "train.lr_decay_epochs",
          "a number > 0 with train.lr_schedule = step (epochs between decays)",
          {"train.lr_schedule"});
    check(t.lr_decay_factor > 0, "train.lr_decay_factor",
          "a number in (0, 1] with train.lr_schedule = step", {"train.lr_schedule"});
  }
  check(t.log_every >= 1, "train.log_every", "an integer >= 1");
  check(t.max_steps >= 0, "train.max_steps", "an integer >= 0 (0 = no limit)");
  check(t.early_stop >= 0, "train.early_stop", "an integer >= 0 (0 = train every epoch)");
}

void validate_eval_and_ood(const RunConfig& c, const OptionCheck& check) {
  check(c.eval.samples >= 1, "eval.samples", "an integer >= 1");
  check(c.eval.batch_size >= 1, "eval.batch_size", "an integer >= 1");
  check(c.eval.every_epochs >= 0, "eval.every_epochs", "an integer >= 0 (0 = no evaluation "
                                                         "during training)");
  check(c.eval.temperature.value > 0, "eval.temperature", "a number > 0, or fit");
  check(!c.eval.temperature.fit || c.data.validation_fraction > 0, "eval.temperature",
        "a number unless data.validation_fraction > 0 (fit needs held-out examples to fit to)",
        {"data.validation_fraction"});

  check(c.ood.shift == DataShift::none || !c.ood.format, "ood.shift",
        "none when ood.format names a data set (a shift is built from the test set)",
        {"ood.format"});
  check(c.ood.format != DataFormat::hdf5 || !c.ood.file.empty(), "ood.format",
        "ood.file to be set with ood.format = hdf5", {"ood.file"});
  check(!c.ood.format || c.ood.format == DataFormat::hdf5 || !c.ood.dir.empty(), "ood.format",
        "ood.dir to be set with ood.format = idx or cifar10", {"ood.dir"});
  check(c.ood.limit >= 0, "ood.limit", "an integer >= 0 (0 = all)");
  // An OOD set given in part would be no OOD set at all, silently.
  const bool named = c.ood.enabled();
  const char* needs = "ood.format (idx, cifar10 or hdf5) or ood.shift beside it: without "
                      "either there is no OOD set";
  const std::initializer_list<const char*> namers = {"ood.format", "ood.shift"};
  check(named || c.ood.dir.empty(), "ood.dir", needs, namers);
  check(named || c.ood.file.empty(), "ood.file", needs, namers);
  check(named || c.ood.limit == 0, "ood.limit", needs, namers);
  check(named || c.ood.name.empty(), "ood.name", needs, namers);
  check(!c.ood.format || c.ood.format == DataFormat::hdf5 || c.ood.file.empty(), "ood.file",
        "empty unless ood.format = hdf5 (idx and cifar10 read ood.dir)", {"ood.format"});
  check(c.ood.format != DataFormat::hdf5 || c.ood.dir.empty(), "ood.dir",
        "empty with ood.format = hdf5 (it reads ood.file)", {"ood.format"});
  check(c.ood.shift == DataShift::none || (c.ood.dir.empty() && c.ood.file.empty()), "ood.shift",
        "none when ood.dir or ood.file names a data set (a shift is built from the test set)",
        {"ood.dir", "ood.file"});
}

// The OOD set's name keys /predictions/<set> and /metrics/ood/<set> (a regression's
// /metrics/<set> too), beside the test set's: a clash would end a run after training.
void validate_ood_name(const RunConfig& c, bool to_train, const OptionCheck& check) {
  if (!c.ood.enabled()) return;
  const std::string name = ood_set_name(c);
  const bool given = !c.ood.name.empty();
  const char* option = given ? "ood.name" : c.ood.file.empty() ? "ood.dir" : "ood.file";
  const std::string named_by =
      given ? "" : concat(option, " names the OOD set '", name, "' (ood.name is empty), but ");
  const std::string what_to_do = given ? "" : ": set ood.name";
  if (const std::string problem = set_name_problem(name); !problem.empty())
    throw InputError(concat(check.where(option), ": ", named_by, "ood.name ", problem, what_to_do));
  if (to_train && name == "test")
    throw InputError(concat(check.where(option), ": ", named_by, "ood.name must not be 'test', "
                            "the test set's name (/predictions/test, /metrics/test)", what_to_do));
}

void validate_output(const RunConfig& c, const OptionCheck& check) {
  check(!c.output.dir.empty(), "output.dir", "a directory");
  check(c.output.name.find('/') == std::string::npos, "output.name",
        "a file name without '/' (empty = the deck's file name)");
  check(c.output.checkpoint_every >= 0, "output.checkpoint_every",
        "an integer >= 0 (0 = only at the end)");
  // Checkpoints are written at progress-line steps.
  check(c.output.checkpoint_every % c.train.log_every == 0, "output.checkpoint_every",
        concat("a multiple of train.log_every (", c.train.log_every, ")"), {"train.log_every"});
}

void validate_debug(const RunConfig& c, const OptionCheck& check) {
  check(c.debug.dump_steps >= 0, "debug.dump_steps", "an integer >= 0 (0 = no dump)");
  if (c.debug.dump_steps == 0) return;
  const std::string dump = concat("debug.dump_steps = ", c.debug.dump_steps, " needs ");
  check.combination(!c.debug.dump_file.empty(), "debug.dump_steps", {"debug.dump_file"},
                    concat(dump, "debug.dump_file, the HDF5 file to write the steps to "
                                 "(--debug.dump_file=dump.h5)"));
  // The dump records one learning rate, which the replay's Adam keeps.
  check.combination(
      c.train.lr_schedule == LrSchedule::constant && c.train.lr_warmup_epochs == 0,
      "debug.dump_steps", {"train.lr_schedule", "train.lr_warmup_epochs", "parallel.batch_mode"},
      concat(dump, "train.lr_schedule = constant and train.lr_warmup_epochs = 0 (the dump "
                   "records one learning rate), got ", word_of(c.train.lr_schedule), " and ",
             format_value(c.train.lr_warmup_epochs),
             c.parallel.batch_mode == BatchMode::per_rank
                 ? " (parallel.batch_mode = per_rank warms up for 5 epochs by default)"
                 : ""));
  // The replay's torch optimizer steps on the gradient as computed, unclipped.
  check.combination(c.train.clip_norm == 0, "debug.dump_steps", {"train.clip_norm"},
                    concat(dump, "train.clip_norm = 0 (the replay does not clip), got ",
                           format_value(c.train.clip_norm)));
}

// Every range and every contradiction between options, section by section.
void validate_parallel(const RunConfig& c, const OptionCheck& check) {
  const ParallelConfig& p = c.parallel;
  check(p.ensemble >= 1, "parallel.ensemble", "an integer >= 1 (1 = one model)");
  check(p.ensemble_groups >= 0 && p.ensemble_groups <= p.ensemble, "parallel.ensemble_groups",
        concat("an integer in [0, parallel.ensemble = ", p.ensemble,
               "] (0 = one group per member, as far as the ranks go)"));
  // Members run concurrently and would write one dump file at once.
  check(p.ensemble == 1 || c.debug.dump_steps == 0, "parallel.ensemble",
        "1 when debug.dump_steps > 0 (dump one model's steps)", {"debug.dump_steps"});
}

void validate(const RunConfig& c, bool to_train, const std::map<std::string, Given>& given,
              const std::string& deck_where) {
  const OptionCheck check(given, deck_where);
  validate_data(c, check, to_train);
  if (to_train) validate_training(c, check);
  validate_model(c.model, check);
  validate_train(c.train, check);
  validate_eval_and_ood(c, check);
  validate_ood_name(c, to_train, check);
  validate_output(c, check);
  validate_debug(c, check);
  validate_parallel(c, check);
  validate_regression(c, check);
  check.beyond_type();
}

// The config of a deck source (the file, or a deck's text) with command-line overrides;
// to_train: a deck to train with (else a trained run's, to predict with).
RunConfig parse_source(const Source& file, const std::vector<std::string>& overrides,
                       const po::options_description& table, bool to_train) {
  const Source command_line = read_command_line(overrides, table);
  RunConfig cfg;
  std::map<std::string, Given> given;
  apply(file, cfg, given);
  apply(command_line, cfg, given);  // later wins
  // A test file given to predict with is the set to predict on, in place of the rows
  // that data.test_fraction cut off the training file when the model was trained.
  const auto& command = command_line.values;
  if (!to_train && command.count("data.test_file") && !command.count("data.test_fraction"))
    cfg.data.test_fraction = 0;
  // Horovod's scaled learning rate warms up by default (Goyal et al. 2017's 5 epochs);
  // in global mode the rate is not scaled and runs keep the rate they had.
  if (!given.count("train.lr_warmup_epochs") && cfg.parallel.batch_mode == BatchMode::per_rank)
    cfg.train.lr_warmup_epochs = 5;
  validate(cfg, to_train, given, file.where);
  cfg.data.real_targets = cfg.model.regression();

  // The command line's layers replace the file's (see deck.hpp).
  const Source& layers = command_line.layers.empty() ? file : command_line;
  if (layers.layers.empty())
    throw InputError(concat(file.where, ": ", kLayerOption,
                            ": expected at least one 'layer = <kind> key=value ...' line in "
                            "[model]"));
  for (std::size_t i = 0; i < layers.layers.size(); ++i) {
    LayerSpec spec =
        parse_layer_in(layers.layers[i], concat(layers.where, ": ", kLayerOption, " ", i + 1));
    // Resolve the default here, so the resolved deck records what actually ran.
    if (spec.has_weights() && !spec.estimator)
      spec.estimator = cfg.model.estimator;
    cfg.model.layers.push_back(std::move(spec));
  }
  return cfg;
}

// "# " lines of at most 88 columns.
void write_comment(std::ostream& os, const std::string& text) {
  std::istringstream words(text);
  std::string line, word;
  while (words >> word) {
    if (!line.empty() && line.size() + 1 + word.size() > 86) {
      os << "# " << line << "\n";
      line.clear();
    }
    line += (line.empty() ? "" : " ") + word;
  }
  if (!line.empty()) os << "# " << line << "\n";
}

// The deck as INI text: the sections in for_each_option's order, [model]'s layers first.
// `documented`: what each section and option means above it (app/deck_docs.hpp), and
// output.name as given; else output.name is the name the run got (run_name).
std::string deck_text(const RunConfig& config, bool documented) {
  std::ostringstream os;
  const auto doc = [&](const std::string& name) {
    if (!documented) return;
    const char* text = deck_doc(name);
    write_comment(os, text != nullptr ? text : "(undocumented)");
  };
  std::string section;
  for_each_option(config, [&](const char* name, const auto& field) {
    const std::string key = name;
    const auto dot = key.find('.');
    if (key.substr(0, dot) != section) {
      section = key.substr(0, dot);
      os << "\n[" << section << "]\n";
      doc(section);
      if (section == "model") {
        doc(kLayerOption);
        for (const auto& layer : config.model.layers)
          os << "layer = " << canonical_line(layer) << "\n";
      }
    }
    // A single model's resolved deck lists no ensemble options, and T = 1 no temperature,
    // so that its files are what they were before these options existed (and a member's
    // deck is a single model's).
    const bool single = config.parallel.ensemble == 1 && config.parallel.ensemble_groups == 0;
    if (!documented && single && key.rfind("parallel.ensemble", 0) == 0) return;
    if (!documented && key == "eval.temperature" && config.eval.temperature == Temperature{})
      return;
    doc(key);
    const std::string value =
        key == "output.name" && !documented ? run_name(config) : format_value(field);
    os << key.substr(dot + 1) << " = " << value << "\n";
  });
  return os.str();
}

}  // namespace

LayerSpec parse_layer(const std::string& line) { return parse_layer_in(line, kLayerOption); }

RunConfig parse_deck(const std::string& path, const std::vector<std::string>& overrides) {
  const po::options_description table = option_table();
  RunConfig cfg = parse_source(read_file(path, table), overrides, table, true);
  cfg.deck_path = path;
  return cfg;
}

RunConfig parse_deck_text(const std::string& text, const std::string& where,
                          const std::vector<std::string>& overrides) {
  const po::options_description table = option_table();
  std::istringstream in(text);
  return parse_source(read_stream(in, where, table), overrides, table, false);
}

std::string ood_set_name(const RunConfig& config) {
  const OodConfig& o = config.ood;
  if (!o.name.empty()) return o.name;
  if (o.shift != DataShift::none) return word_of(o.shift);
  // "/tmp/mnist/" -> "mnist", "digits.h5" -> "digits".
  std::filesystem::path source(o.format == DataFormat::hdf5 ? o.file : o.dir);
  if (!source.has_filename()) source = source.parent_path();
  // A stem that says nothing, or "ood" (/metrics/ood: set_name_problem), gets a free name.
  const std::string stem = source.stem().string();
  return stem.empty() || stem == "." || stem == ".." || stem == "ood" ? "ood_set" : stem;
}

std::string set_name_problem(const std::string& name) {
  if (name.empty()) return "must not be empty: it names /predictions/<set> and /metrics/<set>";
  if (name.find('/') != std::string::npos) return concat("must not contain '/', got '", name, "'");
  if (name == "." || name == "..")
    return concat("must not be '", name, "': HDF5 cannot name a group so");
  if (name == "ood")
    return "must not be 'ood', which names /metrics/ood (the OOD scores' AUROC and AUPR)";
  return "";
}

std::string run_name(const RunConfig& config) {
  if (!config.output.name.empty()) return config.output.name;
  const std::string stem = std::filesystem::path(config.deck_path).stem().string();
  return stem.empty() ? "kbnn" : stem;
}

std::string resolved_deck(const RunConfig& config) {
  std::ostringstream os;
  os << "# kbnn resolved input deck: every option, defaults included";
  if (!config.deck_path.empty()) os << "; read from " << config.deck_path;
  os << "\n" << deck_text(config, false);
  return os.str();
}

std::string documented_deck() {
  RunConfig config;
  for (const char* line : {"conv2d out=6 kernel=5 padding=2", "relu", "maxpool2d size=2",
                           "conv2d out=16 kernel=5", "relu", "maxpool2d size=2",
                           "conv2d out=120 kernel=5", "relu", "flatten", "dense out=84", "relu",
                           "dense out=10"})
    config.model.layers.push_back(parse_layer(line));
  std::ostringstream os;
  os << "# kbnn input deck: every option at its default, with what it means (kbnn deck).\n"
        "# INI: [section], then option = value; '#' starts a comment. On the command line\n"
        "# --section.option=value overrides the deck. The model is LeNet-5 with Flipout for\n"
        "# 28x28 images (Fashion-MNIST); the run file records the resolved deck.\n"
     << deck_text(config, true);
  return os.str();
}

std::vector<std::string> deck_option_names() {
  std::vector<std::string> names;
  RunConfig defaults;
  for_each_option(defaults, [&](const char* name, auto&) { names.emplace_back(name); });
  names.emplace_back(kLayerOption);
  return names;
}

void check_deck_for_ranks(const RunConfig& config, int ranks) {
  const ParallelConfig& p = config.parallel;
  if (p.ensemble_groups > ranks)
    throw InputError(concat("input deck ", config.deck_path, ": parallel.ensemble_groups ",
                            p.ensemble_groups, " needs at least as many ranks, the job has ",
                            ranks));
  // A member trains on its group's ranks; the largest group counts.
  const int groups = group_count(p.ensemble, p.ensemble_groups, ranks);
  const int member_ranks = (ranks + groups - 1) / groups;
  const std::int64_t batch = config.train.batch_size;
  if (p.batch_mode == BatchMode::global && batch < member_ranks)
    throw InputError(concat("input deck ", config.deck_path, ": train.batch_size ", batch,
                            " is smaller than the ", member_ranks,
                            groups > 1 ? " ranks of an ensemble member's group" : " ranks",
                            ": every rank needs at least one example per step"));
}

std::string restart_mismatch(const RunConfig& trained, const RunConfig& now) {
  std::vector<std::string> differences;
  const auto compare = [&](const char* option, const std::string& was, const std::string& is) {
    if (was != is)
      differences.push_back(concat(option, " was ", was.empty() ? "(none)" : was, ", the deck has ",
                                   is.empty() ? "(none)" : is));
  };
  const auto layers = [](const RunConfig& c) {
    std::string text;
    for (const auto& l : c.model.layers) text += (text.empty() ? "" : "; ") + canonical_line(l);
    return text;
  };
  compare("model.layer", layers(trained), layers(now));
  compare("model.bayesian_bias", format_value(trained.model.bayesian_bias),
          format_value(now.model.bayesian_bias));
  compare("model.likelihood", format_value(trained.model.likelihood),
          format_value(now.model.likelihood));
  compare("train.seed", format_value(trained.train.seed), format_value(now.train.seed));
  compare("train.batch_size", format_value(trained.train.batch_size),
          format_value(now.train.batch_size));
  compare("parallel.batch_mode", format_value(trained.parallel.batch_mode),
          format_value(now.parallel.batch_mode));
  compare("train.optimizer", format_value(trained.train.optimizer),
          format_value(now.train.optimizer));
  std::string text;
  for (const auto& d : differences) text += (text.empty() ? "" : "; ") + d;
  return text;
}

}  // namespace kbnn
