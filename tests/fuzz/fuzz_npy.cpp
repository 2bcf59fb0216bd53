// libFuzzer target: the npy reader on arbitrary bytes (tests/fuzz/fuzz_inputs.hpp).
#include "fuzz_inputs.hpp"
#include "fuzz_main.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return embedlab::fuzz::guarded(
      [&] { embedlab::fuzz::read_npy_file(embedlab::fuzz::scratch_file("input.npy", data, size)); });
}
