// Runs a kernel in both thread shapes (core/thread_shape.hpp: rows on CPUs, elements on
// GPUs; both run here) and requires the same numbers from each, bit for bit.
#pragma once

#include "catch.hpp"
#include "core/thread_shape.hpp"

// run(shape) runs the kernel on fresh inputs and returns its results (anything ==
// compares: a vector, a tuple of vectors); the rows shape's results are returned, for
// the caller to check against the definition.
template <class Run>
auto same_in_both_shapes(const Run& run) {
  const auto rows = run(kbnn::ThreadShape::rows);
  const auto elements = run(kbnn::ThreadShape::elements);
  CHECK(rows == elements);
  return rows;
}
