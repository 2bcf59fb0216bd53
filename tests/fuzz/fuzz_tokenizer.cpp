// libFuzzer target: GPT-2 BPE round trip decode(encode(x)) == x on arbitrary bytes, with the real
// tokenizer files ($EMBEDLAB_TOKENIZER_DIR or the compiled-in tests/data/gpt2-tokenizer).
#include "fuzz_inputs.hpp"
#include "fuzz_main.hpp"

#include <cstdio>
#include <cstdlib>
#include <memory>

namespace {

std::unique_ptr<embedlab::io::Gpt2Tokenizer> tokenizer;

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  const std::string dir = embedlab::fuzz::tokenizer_dir(EMBEDLAB_TOKENIZER_DIR);
  if (dir.empty()) {
    std::fprintf(stderr, "fuzz_tokenizer: no GPT-2 tokenizer files (set EMBEDLAB_TOKENIZER_DIR)\n");
    std::exit(66);
  }
  tokenizer = std::make_unique<embedlab::io::Gpt2Tokenizer>(embedlab::io::Gpt2Tokenizer::from_dir(dir));
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (!tokenizer) return 0;
  return embedlab::fuzz::guarded([&] {
    embedlab::fuzz::tokenizer_roundtrip(*tokenizer, std::string_view(reinterpret_cast<const char*>(data), size));
  });
}
