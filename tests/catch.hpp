// One include for Catch2 v2 (Debian 12) and v3 (Spack).
#pragma once

#if __has_include(<catch2/catch_all.hpp>)
#include <catch2/catch_all.hpp>
// v2 spells it Approx, v3 Catch::Approx.
using Catch::Approx;
#else
#include <catch2/catch.hpp>
#endif

#include <sstream>
#include <string>
#include <vector>

namespace kbnn::test {
// The reasons of the test cases that KBNN_SKIP ended in this run. test_main.cpp prints
// them ("SKIPPED: ...") and, when nothing failed, exits with kSkipExitCode, which ctest
// reports as a skip (SKIP_RETURN_CODE): never a pass. Catch2 v2 has no SKIP.
constexpr int kSkipExitCode = 77;
inline std::vector<std::string>& skip_reasons() {
  static std::vector<std::string> reasons;
  return reasons;
}
}  // namespace kbnn::test

// Ends the running test case as skipped, for a missing optional data set or device,
// with `reason` (streamable). The SUCCEED keeps --warn NoAssertions from calling the
// case empty; the exit status is what tells ctest.
#define KBNN_SKIP(reason)                                          \
  do {                                                             \
    std::ostringstream kbnn_skip_reason;                           \
    kbnn_skip_reason << reason;                                    \
    kbnn::test::skip_reasons().push_back(kbnn_skip_reason.str());  \
    SUCCEED("skipped: " << kbnn_skip_reason.str());                \
    return;                                                        \
  } while (false)

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
