// libFuzzer target: the GPT-2 config.json parser (io::parse_gpt2_config) on arbitrary bytes, in
// memory (tests/fuzz/fuzz_gpt2_config.hpp).
#include "fuzz_gpt2_config.hpp"
#include "fuzz_main.hpp"

#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return embedlab::fuzz::guarded(
      [&] { embedlab::fuzz::gpt2_config_input(std::string_view(reinterpret_cast<const char*>(data), size)); });
}
