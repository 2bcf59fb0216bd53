// libFuzzer target: the word_text reader on arbitrary bytes (tests/fuzz/fuzz_inputs.hpp).
#include "fuzz_inputs.hpp"
#include "fuzz_main.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return embedlab::fuzz::guarded(
      [&] { embedlab::fuzz::read_word_text_file(embedlab::fuzz::scratch_file("input.txt", data, size)); });
}
