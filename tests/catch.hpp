// One include for Catch2 v2 (Debian 12) and v3 (Spack).
#pragma once

#if __has_include(<catch2/catch_all.hpp>)
#include <catch2/catch_all.hpp>
// v2 spells it Approx, v3 Catch::Approx.
using Catch::Approx;
#else
#include <catch2/catch.hpp>
#endif

#include <string>

namespace kbnn::test {
// Substring matcher for REQUIRE_THROWS_WITH, the same in Catch2 v2 and v3.
inline auto contains(const std::string& text) {
#if __has_include(<catch2/catch_all.hpp>)
  return Catch::Matchers::ContainsSubstring(text);
#else
  return Catch::Contains(text);
#endif
}
}  // namespace kbnn::test
