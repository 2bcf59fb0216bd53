// libFuzzer target: the word2vec_bin reader on arbitrary bytes (tests/fuzz/fuzz_inputs.hpp).
#include "fuzz_inputs.hpp"
#include "fuzz_main.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return embedlab::fuzz::guarded(
      [&] { embedlab::fuzz::read_word2vec_bin_file(embedlab::fuzz::scratch_file("input.bin", data, size)); });
}
