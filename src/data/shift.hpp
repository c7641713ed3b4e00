// Synthetic distribution shifts of an image data set: cheap out-of-distribution sets
// built from the in-distribution test set (docs/design.md, "Out-of-distribution scores").
//   noise   every pixel drawn from N(m, s^2), m and s the source image's own pixel mean
//           and standard deviation (rounded, clamped to 0..255; float features are
//           left unrounded): the brightness and contrast of the image, none of its
//           structure
//   invert  255 - v: the same shapes, dark on light (uint8 images only)
//   rot90   the image turned 90 degrees counter-clockwise (square images only)
// Labels are kept (they are only meaningful for invert and rot90, and OOD scores do not use
// them); so are real targets, but noise drops them (NaN, a set without targets): a
// regression would otherwise be scored against what the noise replaced.
#pragma once

#include "core/choices.hpp"
#include "data/dataset.hpp"

#include <cstdint>

namespace kbnn {

// The shifted copy of `d`. `first_row` is the global index of d's first example: the
// noise of an image is keyed by (seed, global row), so a rank's shard gets the same
// images as the whole set. rot90 of a non-square image throws InputError.
Dataset shifted(const Dataset& d, DataShift shift, std::uint64_t seed, std::int64_t first_row = 0);

}  // namespace kbnn
