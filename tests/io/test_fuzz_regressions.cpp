// Replays, in the normal build, every input that once crashed a fuzz target
// (tests/fuzz/regressions/<target>/) and every seed of the fuzz corpora (tests/fuzz/corpus/<target>/)
// through the same per-input code the libFuzzer targets run (tests/fuzz/fuzz_inputs.hpp): each
// must end normally or with embedlab::Error, and the tokenizer must round-trip it.
#include <boost/test/unit_test.hpp>

#include "fuzz/fuzz_inputs.hpp"
#include "testing.hpp"

#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace fs = std::filesystem;
using namespace embedlab;

namespace {

std::vector<fs::path> inputs(const std::string& kind, const std::string& target) {
  std::vector<fs::path> out;
  const fs::path dir = fs::path(EMBEDLAB_SOURCE_DIR) / "tests" / "fuzz" / kind / target;
  if (!fs::is_directory(dir)) return out;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.is_regular_file()) out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

// Only embedlab::Error may escape a reader; the fuzz_inputs functions already swallow it.
void replay(const std::string& target, const std::function<void(const std::string&)>& run) {
  std::size_t n = 0;
  for (const char* kind : {"regressions", "corpus"}) {
    for (const auto& p : inputs(kind, target)) {
      ++n;
      try {
        run(p.string());
      } catch (const Error&) {
      } catch (const std::exception& e) {
        BOOST_ERROR(p.string() << ": exception other than embedlab::Error: " << e.what());
      }
    }
  }
  BOOST_TEST_MESSAGE(target << ": replayed " << n << " inputs");
  BOOST_TEST(n > 0u, "no inputs for " << target << " (run scripts/gen_fuzz_corpus.py)");
}

}  // namespace

BOOST_AUTO_TEST_SUITE(fuzz_regressions)

BOOST_AUTO_TEST_CASE(safetensors) { replay("safetensors", fuzz::read_safetensors_file); }
BOOST_AUTO_TEST_CASE(npy) { replay("npy", fuzz::read_npy_file); }
BOOST_AUTO_TEST_CASE(word_text) { replay("word_text", fuzz::read_word_text_file); }
BOOST_AUTO_TEST_CASE(word2vec_bin) { replay("word2vec_bin", fuzz::read_word2vec_bin_file); }
BOOST_AUTO_TEST_CASE(hdf5) {
  replay("hdf5", [](const std::string& path) {
    fuzz::read_hdf5_file(path, false);
    fuzz::read_hdf5_file(path, true);
  });
}

BOOST_AUTO_TEST_CASE(tokenizer_round_trip) {
  EMBEDLAB_FIXTURE(dir, "gpt2-tokenizer");
  const auto tok = io::Gpt2Tokenizer::from_dir(dir);
  replay("tokenizer", [&](const std::string& path) { fuzz::tokenizer_roundtrip(tok, test::read_file(path)); });
}

// The tokenizer.json reader on the hostile seeds (fuzz_tokenizer_json): load, encode, decode.
BOOST_AUTO_TEST_CASE(tokenizer_json) {
  replay("tokenizer_json", [](const std::string& path) {
    const auto tok = tok::Tokenizer::from_file(path);
    for (const bool special : {false, true})
      (void)tok.decode(tok.encode_ids("Hello, world! <s> caf\xC3\xA9 \xFF", special));
  });
}

BOOST_AUTO_TEST_SUITE_END()
