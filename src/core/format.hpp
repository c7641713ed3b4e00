// Text for report lines and messages. format: printf-style formatting into a
// std::string, for lines full of numbers; every argument is passed as a double, so
// every conversion in the pattern must be a floating-point one (%f, %g, %e): counts
// print with %.0f. format_duration: a time span. shape_text: a tensor's shape.
#pragma once

#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

namespace kbnn {

template <class... Args>
std::string format(const char* pattern, Args... args) {
  char line[512];
  std::snprintf(line, sizeof line, pattern, static_cast<double>(args)...);
  return line;
}

// "1m05s", or "2h03m" from an hour on: progress lines' elapsed times and ETAs.
inline std::string format_duration(double seconds) {
  char text[32];
  const long s = std::lround(seconds);
  if (s >= 3600)
    std::snprintf(text, sizeof text, "%ldh%02ldm", s / 3600, (s / 60) % 60);
  else
    std::snprintf(text, sizeof text, "%ldm%02lds", s / 60, s % 60);
  return text;
}

// A shape as "2x3x4", or "a scalar" for no dimensions: the extents of a parameter
// block (std::size_t) or of an HDF5 dataset (hsize_t).
template <class Extent>
std::string shape_text(const std::vector<Extent>& dims) {
  std::string text;
  for (std::size_t i = 0; i < dims.size(); ++i) text += (i ? "x" : "") + std::to_string(dims[i]);
  return text.empty() ? "a scalar" : text;
}

}  // namespace kbnn
