// printf-style formatting into a std::string, for report lines full of numbers. Every
// argument is passed as a double, so every conversion in the pattern must be a
// floating-point one (%f, %g, %e): counts print with %.0f.
#pragma once

#include <cstdio>
#include <string>

namespace kbnn {

template <class... Args>
std::string format(const char* pattern, Args... args) {
  char line[512];
  std::snprintf(line, sizeof line, pattern, static_cast<double>(args)...);
  return line;
}

}  // namespace kbnn
