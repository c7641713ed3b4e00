// A progress line for long work that has no other output (Monte-Carlo prediction over a
// large set, say): "<what>: 37% after 0m14s, about 0m24s left", printed each time
// `interval` seconds have passed since the start or the last line, so work shorter than
// that prints nothing. Without a stream (every rank but the one that logs) it is silent.
#pragma once

#include "core/format.hpp"

#include <chrono>
#include <ostream>
#include <string>

namespace kbnn {

class ProgressLine {
 public:
  ProgressLine(std::ostream* out, std::string what, double interval_seconds = 10)
      : out_(out), what_(std::move(what)), interval_(interval_seconds),
        start_(std::chrono::steady_clock::now()) {}

  // The fraction of the work done, in [0, 1].
  void operator()(double fraction) {
    if (out_ == nullptr || fraction <= 0 || fraction >= 1) return;
    const double now = seconds();
    if (now - last_ < interval_) return;
    last_ = now;
    *out_ << what_ << ": " << format("%.0f", 100 * fraction) << "% after "
          << format_duration(now) << ", about " << format_duration(now * (1 - fraction) / fraction)
          << " left" << std::endl;
  }

 private:
  double seconds() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  }

  std::ostream* out_;
  std::string what_;
  double interval_;
  std::chrono::steady_clock::time_point start_;
  double last_ = 0;  // when the last line was printed (the start: none yet)
};

}  // namespace kbnn
