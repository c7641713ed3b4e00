// Signals (spectra, waveforms, sensor series) are images of height 1: Shape{1, L, C},
// L points of C channels (HDF5 examples of shape (L) or (L, C) with data.layout =
// signal). conv1d and maxpool1d take only signals; conv2d and maxpool2d name them when
// their square window cannot fit one.
#pragma once

#include "core/error.hpp"
#include "core/types.hpp"

#include <string>

namespace kbnn {

// Throws unless `in` is a signal of more than one point, saying what to set instead. A
// one-point signal, 1 x 1 x C, is a vector too, and the message says so: after a global
// max pool (maxpool1d as long as the signal), "after flatten or dense" alone misleads.
inline void require_signal(const std::string& layer, Shape in) {
  if (in.height > 1)
    throw InputError(concat(layer, ": takes a signal (1 x L x C), got an image of ", in.height,
                            "x", in.width, "x", in.channels, "; images take conv2d and maxpool2d"));
  if (in.width == 1)
    throw InputError(concat(layer, ": takes a signal (1 x L x C), got a vector of ", in.channels,
                            " features; HDF5 examples of shape (L) or (L, C) are read as signals "
                            "with data.layout = signal, and after flatten or dense no signal is "
                            "left; a signal of one point (L = 1, or what a window as long as the "
                            "signal leaves) is such a vector too: dense takes it"));
}

// " (a signal: use conv1d)" after a 2-D layer's message when `in` is a signal, else "".
inline std::string signal_hint(Shape in, const char* one_d_kind) {
  return in.height == 1 && in.width > 1 ? concat(" (a signal: use ", one_d_kind, ")") : "";
}

}  // namespace kbnn
