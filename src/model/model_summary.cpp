#include "model/model_summary.hpp"

#include "core/format.hpp"

#include <cstdio>
#include <map>

namespace kbnn {

namespace {

// 28x28x6, or 84 for a flat row.
std::string shape_of(const Shape& s) {
  if (s.height == 1 && s.width == 1) return std::to_string(s.channels);
  return std::to_string(s.height) + "x" + std::to_string(s.width) + "x" +
         std::to_string(s.channels);
}

struct Counts {
  double gaussian = 0, point = 0;
};

// Weights per layer name, from the store's blocks ("conv2d_0/kernel").
std::map<std::string, Counts> weights_by_layer(const ParameterStore<Real>& store) {
  std::map<std::string, Counts> counts;
  for (const auto& b : store.blocks()) {
    Counts& c = counts[b.layer()];
    (b.kind == ParameterStore<Real>::Kind::gaussian ? c.gaussian : c.point) += double(b.count);
  }
  return counts;
}

std::string row(const std::string& layer, const std::string& output, const std::string& estimator,
                const std::string& bayesian, const std::string& point, const std::string& flops) {
  char line[160];
  std::snprintf(line, sizeof line, "  %-12s %-10s %-14s %10s %8s %14s", layer.c_str(),
                output.c_str(), estimator.c_str(), bayesian.c_str(), point.c_str(), flops.c_str());
  std::string text = line;
  return text.erase(text.find_last_not_of(' ') + 1) + "\n";
}

std::string count_text(double n) { return n > 0 ? format("%.0f", n) : ""; }

}  // namespace

std::string model_summary(const Sequential<Real>& model, const ModelConfig& config) {
  const auto counts = weights_by_layer(model.parameters());
  std::string text = row("layer", "output", "estimator", "Bayesian", "point", "MFLOP/example");
  text += row("input", shape_of(model.input_shape()), "", "", "", "");
  Counts total;
  double total_flops = 0;
  for (std::size_t i = 0; i < model.layers().size(); ++i) {
    const auto& layer = *model.layers()[i];
    const LayerSpec& spec = config.layers.at(i);
    const auto found = counts.find(layer.name());
    const Counts c = found == counts.end() ? Counts{} : found->second;
    const double flops = 2 * layer.forward_macs();  // a multiply-add is two
    total.gaussian += c.gaussian;
    total.point += c.point;
    total_flops += flops;
    text += row(layer.name(), shape_of(layer.output_shape()),
                spec.has_weights() ? word_of(spec.estimator.value_or(config.estimator)) : "",
                count_text(c.gaussian), count_text(c.point),
                flops > 0 ? format("%.3f", flops * 1e-6) : "");
  }
  text += row("total", "", "", count_text(total.gaussian), count_text(total.point),
              format("%.3f", total_flops * 1e-6));
  return text +
         "  (Bayesian: weights with a posterior, mu and rho each; point: plain values; "
         "MFLOP of the forward pass, Flipout's two products counted)\n";
}

}  // namespace kbnn
