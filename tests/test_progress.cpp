// ProgressLine (core/progress.hpp): the line it prints, and when it stays silent.
#include "catch.hpp"

#include "core/progress.hpp"

#include <sstream>

TEST_CASE("A progress line gives the fraction done, the time and the time left", "[progress]") {
  std::ostringstream log;
  kbnn::ProgressLine line(&log, "test set", 0);  // every call prints
  line(0.25);
  const std::string text = log.str();
  INFO(text);
  CHECK(text.rfind("test set: 25% after 0m00s, about 0m00s left\n", 0) == 0);
  // Nothing before any work is done, nor at the end (the result line follows).
  log.str("");
  line(0);
  line(1);
  CHECK(log.str().empty());
}

TEST_CASE("A progress line waits its interval, and is silent without a stream", "[progress]") {
  std::ostringstream log;
  kbnn::ProgressLine patient(&log, "work", 3600);
  for (double f = 0.1; f < 1; f += 0.1) patient(f);
  CHECK(log.str().empty());  // short work prints nothing
  kbnn::ProgressLine silent(nullptr, "work", 0);
  silent(0.5);  // must not dereference the missing stream
  CHECK(log.str().empty());
}
