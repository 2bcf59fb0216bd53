#pragma once
// The libFuzzer entry shared by the targets: an exception other than embedlab::Error escaping the
// per-input function is reported with its message and aborts (libFuzzer saves the input).
#include "core/error.hpp"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>

namespace embedlab::fuzz {

template <class F>
int guarded(F&& f) {
  try {
    f();
  } catch (const Error&) {
    // A clean one-line error is the expected outcome of a bad input.
  } catch (const std::exception& e) {
    std::fprintf(stderr, "BUG: exception other than embedlab::Error: %s\n", e.what());
    std::abort();
  } catch (...) {
    std::fprintf(stderr, "BUG: non-standard exception\n");
    std::abort();
  }
  return 0;
}

}  // namespace embedlab::fuzz
