#include "app/ensemble_info.hpp"

#include "core/error.hpp"
#include "core/format.hpp"
#include "h5/attribute.hpp"
#include "h5/error.hpp"
#include "h5/file.hpp"
#include "h5/rows.hpp"

#include <algorithm>
#include <ostream>
#include <string>
#include <vector>

namespace kbnn {

namespace {

// "; OOD <set> AUROC entropy x MI y max-prob z" (a regression's: "AUROC predictive_std x
// epistemic_std y") for each OOD set of a /metrics group.
std::string ood_text(hid_t metrics, const std::string& path) {
  if (!h5::exists(metrics, "ood")) return "";
  const h5::Group ood = h5::open_group(metrics, "ood");
  std::string text;
  for (const std::string& set : h5::member_names(ood, path + ": metrics/ood")) {
    const h5::Group g = h5::open_group(ood, set);
    const auto auroc = [&](const char* score) {
      return h5::read_attribute<double>(g, std::string("auroc_") + score);
    };
    text += "; OOD " + set +
            (h5::has_attribute(g, "auroc_predictive_std")
                 ? format(" AUROC predictive_std %.4f epistemic_std %.4f",
                          auroc("predictive_std"), auroc("epistemic_std"))
                 : format(" AUROC entropy %.4f MI %.4f max-prob %.4f", auroc("entropy"),
                          auroc("mutual_information"), auroc("max_probability")));
  }
  return text;
}

// "test accuracy a nll n ece e" (a regression's: "test rmse r nll n coverage 95% c") of
// /metrics/test in `parent`, if there is one.
std::string test_text(hid_t parent) {
  if (!h5::exists(parent, "metrics/test")) return "no test metrics";
  const h5::Group g = h5::open_group(parent, "metrics/test");
  const auto get = [&](const char* name) { return h5::read_attribute<double>(g, name); };
  if (h5::has_attribute(g, "rmse"))
    return format("test rmse %.5g nll %.4f coverage 95%% %.3f", get("rmse"), get("nll"),
                  get("coverage_95"));
  return format("test accuracy %.4f nll %.4f ece %.4f", get("accuracy"), get("nll"), get("ece"));
}

void print_member(hid_t members, const std::string& name, const std::string& path,
                  std::ostream& out) {
  const h5::Group m = h5::open_group(members, name);
  out << "  member " << name << ":";
  if (h5::has_attribute(m, "group"))  // a trained ensemble's run file; not a pruned one
    out << " group " << h5::read_attribute<std::int32_t>(m, "group") << " ("
        << h5::read_attribute<std::int32_t>(m, "ranks") << " rank(s)),";
  if (h5::exists(m, "checkpoint")) {
    const h5::Group c = h5::open_group(m, "checkpoint");
    out << " seed " << h5::read_attribute<std::uint64_t>(c, "seed") << ", step "
        << h5::read_attribute<std::int64_t>(c, "step");
    if (h5::exists(c, "keep")) {
      const auto keep = h5::read_column<std::uint8_t>(c, "keep", path + ": /members/" + name);
      out << ", " << std::count(keep.begin(), keep.end(), std::uint8_t(0)) << " of "
          << keep.size() << " Bayesian weights pruned";
    }
  }
  if (h5::exists(m, "metrics/test")) out << "; " << test_text(m);
  if (h5::exists(m, "metrics")) out << ood_text(h5::open_group(m, "metrics"), path);
  out << "\n";
}

}  // namespace

void print_ensemble_members(hid_t file, const std::string& path, std::ostream& out) {
  out << "  ensemble: " << h5::read_attribute<std::int32_t>(file, "ensemble_members")
      << " members";
  if (h5::has_attribute(file, "ensemble_groups"))
    out << " trained over " << h5::read_attribute<std::int32_t>(file, "ensemble_groups")
        << " rank group(s)";
  out << "\n";
  if (h5::exists(file, "members")) {
    const h5::Group members = h5::open_group(file, "members");
    std::vector<std::string> names = h5::member_names(members, path + ": /members");
    std::sort(names.begin(), names.end(), [](const std::string& a, const std::string& b) {
      return std::stol(a) < std::stol(b);
    });
    for (const std::string& name : names) print_member(members, name, path, out);
  }
  if (!h5::exists(file, "metrics/test")) return;
  const h5::Group test = h5::open_group(file, "metrics/test");
  const auto get = [&](const char* name) { return h5::read_attribute<double>(test, name); };
  out << "  mixture: " << test_text(file)
      << (h5::has_attribute(test, "rmse")
              ? format("; epistemic variance %.5g = within-member %.5g + between-member %.5g "
                       "(target units squared)",
                       get("mean_epistemic_variance"), get("mean_epistemic_within"),
                       get("mean_epistemic_between"))
              : format("; epistemic %.4f = within-member %.4f + between-member %.4f nats",
                       get("mean_epistemic"), get("mean_epistemic_within"),
                       get("mean_epistemic_between")))
      << ood_text(h5::open_group(file, "metrics"), path) << "\n";
}

void print_ensemble_members(const std::string& path, std::ostream& out) {
  const h5::QuietErrors quiet;
  const h5::SerialFile file(KBNN_H5_CHECK_AT(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), path));
  print_ensemble_members(file, path, out);
}

}  // namespace kbnn
