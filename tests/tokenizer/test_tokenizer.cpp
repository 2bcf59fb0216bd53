#include <boost/test/unit_test.hpp>

#include "testing.hpp"

#include "core/error.hpp"
#include "core/rng.hpp"
#include "tokenizer/tokenizer.hpp"

#include <boost/locale/utf.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <ostream>
#include <set>
#include <string>
#include <vector>

namespace embedlab::tok {
std::ostream& operator<<(std::ostream& os, WordStatus s) { return os << to_string(s); }
}  // namespace embedlab::tok

namespace {

using embedlab::Error;
using embedlab::io::Gpt2Tokenizer;
using embedlab::io::WordPolicy;
using embedlab::io::WordStatus;

const Gpt2Tokenizer* real_tokenizer() {
  static const std::string dir = embedlab::test::fixture("gpt2-tokenizer");
  static const Gpt2Tokenizer tok = Gpt2Tokenizer::from_dir(dir);
  return &tok;
}

#define REQUIRE_TOKENIZER(var) const Gpt2Tokenizer& var = *real_tokenizer();

// Random code points from several scripts, spaces, digits, punctuation and emoji (valid UTF-8).
std::string random_text(embedlab::Rng& rng, std::size_t n_chars) {
  static const std::vector<std::pair<std::uint32_t, std::uint32_t>> ranges = {
      {'a', 'z'},     {'A', 'Z'},       {'0', '9'},       {' ', '/'},         {0xE0, 0xFF},
      {0x391, 0x3C9}, {0x410, 0x44F},   {0x4E00, 0x4E80}, {0x1F600, 0x1F64F}, {0x2000, 0x200B},
      {'\n', '\n'},   {0x3000, 0x3000}, {'\'', '\''}};
  std::string out;
  for (std::size_t i = 0; i < n_chars; ++i) {
    const auto& [lo, hi] = ranges[rng.below(ranges.size())];
    const std::uint32_t cp = lo + static_cast<std::uint32_t>(rng.below(hi - lo + 1));
    boost::locale::utf::utf_traits<char>::encode(cp, std::back_inserter(out));
  }
  return out;
}

// A tiny vocabulary: the 256 byte tokens (id = byte) plus "ca", "cat", "Ġcat" and their merges.
struct TinyFiles {
  embedlab::test::TempDir dir;
  std::string encoder = dir.file("encoder.json"), merges = dir.file("vocab.bpe");
  nlohmann::json vocab;
  TinyFiles() {
    const auto& table = embedlab::io::gpt2_byte_to_unicode();
    for (int b = 0; b < 256; ++b) vocab[table[b]] = b;
    vocab["ca"] = 256;
    vocab["cat"] = 257;
    vocab["Ġcat"] = 258;
    write_encoder();
    embedlab::test::write_file(merges, "#version: 0.2\nc a\nca t\nĠ cat\n");
  }
  void write_encoder() { embedlab::test::write_file(encoder, vocab.dump()); }
};

// The error is an embedlab::Error whose message contains every fragment.
void check_error(const std::function<void()>& f, const std::vector<std::string>& fragments) {
  try {
    f();
    BOOST_FAIL("expected an embedlab::Error");
  } catch (const Error& e) {
    const std::string msg = e.what();
    BOOST_TEST_MESSAGE("error as expected: " << msg);
    BOOST_TEST(msg.find('\n') == std::string::npos);
    for (const auto& frag : fragments) BOOST_TEST(msg.find(frag) != std::string::npos, "'" << frag << "' in: " << msg);
  }
}

}  // namespace

BOOST_AUTO_TEST_SUITE(tokenizer)

BOOST_AUTO_TEST_CASE(golden_cases_match_hf) {
  EMBEDLAB_FIXTURE(cases_path, "gpt2-golden/tokenizer_cases.json");
  REQUIRE_TOKENIZER(tok);
  std::ifstream in(cases_path);
  const auto cases = nlohmann::json::parse(in).at("cases");
  BOOST_TEST(cases.size() > 0u);
  for (const auto& c : cases) {
    const auto text = c.at("text").get<std::string>();
    const auto expected = c.at("ids").get<std::vector<int>>();
    const auto ids = tok.encode_gpt2(text);
    BOOST_TEST(ids == expected, "text " << nlohmann::json(text).dump());
    if (c.at("roundtrip").get<bool>()) BOOST_TEST(tok.decode(ids) == text);
  }
}

BOOST_AUTO_TEST_CASE(known_ids_and_lookups) {
  REQUIRE_TOKENIZER(tok);
  BOOST_TEST(tok.vocab_size() == 50257);
  BOOST_TEST(tok.merge_count() == 50000u);
  BOOST_TEST(tok.eot_id() == 50256);
  BOOST_TEST(tok.encode_gpt2(" cat") == std::vector<int>{3797});
  BOOST_TEST(tok.encode_gpt2("cat") == std::vector<int>{9246});
  BOOST_TEST(tok.token(3797) == "Ġcat");
  BOOST_TEST(tok.token_bytes(3797) == " cat");
  BOOST_TEST(tok.id("Ġcat").value() == 3797);
  BOOST_TEST(tok.id_of_bytes(" cat").value() == 3797);
  BOOST_TEST(!tok.id("no-such-token-here").has_value());
  BOOST_TEST(tok.token(50256) == "<|endoftext|>");
  BOOST_TEST(tok.encode_gpt2("").empty());
  BOOST_CHECK_THROW(tok.decode({50257}), Error);
  BOOST_CHECK_THROW(tok.token(-1), Error);
}

BOOST_AUTO_TEST_CASE(special_token_can_be_plain_text) {
  REQUIRE_TOKENIZER(tok);
  const std::string text = "x<|endoftext|><|endoftext|>y";
  BOOST_TEST(tok.encode_gpt2(text) == (std::vector<int>{87, 50256, 50256, 88}));
  const auto plain = tok.encode_gpt2(text, false);
  BOOST_TEST(plain.size() > 4u);
  for (const int id : plain) BOOST_TEST(id != 50256);
  BOOST_TEST(tok.decode(plain) == text);
}

BOOST_AUTO_TEST_CASE(invalid_utf8_round_trips) {
  REQUIRE_TOKENIZER(tok);
  const std::vector<std::string> inputs = {"\xff",
                                           "ab\xff"
                                           "cd",
                                           "caf\xc3",
                                           "\xf0\x9f\x99",
                                           "\xed\xa0\x80 surrogate",
                                           "\xc0\xaf overlong",
                                           "\xf4\x90\x80\x80 too big",
                                           "ok \x80\x80\x80 then  spaces  \xfe",
                                           std::string("nul\0byte", 8)};
  for (const auto& s : inputs) BOOST_TEST(tok.decode(tok.encode_gpt2(s)) == s);
  embedlab::Rng rng(embedlab::test::kSeed);
  for (int round = 0; round < 200; ++round) {
    std::string s(rng.below(64), '\0');
    for (auto& ch : s) ch = static_cast<char>(rng.below(256));
    BOOST_TEST(tok.decode(tok.encode_gpt2(s)) == s);
  }
}

BOOST_AUTO_TEST_CASE(random_valid_text_round_trips) {
  REQUIRE_TOKENIZER(tok);
  embedlab::Rng rng(embedlab::test::kSeed + 1);
  for (int round = 0; round < 200; ++round) {
    const std::string s = random_text(rng, rng.below(80));
    BOOST_TEST(tok.decode(tok.encode_gpt2(s)) == s);
  }
}

BOOST_AUTO_TEST_CASE(megabyte_text_encodes) {
  REQUIRE_TOKENIZER(tok);
  embedlab::Rng rng(embedlab::test::kSeed + 2);
  const std::vector<std::string> words = {"the",       "cat",      "sat",  "on",       "mat",
                                          "embedding", "geometry", "of",   "language", "models",
                                          "isotropy",  "GPT-2",    "2026", "naïve",    "中文"};
  std::string text;
  while (text.size() < (1u << 20)) {
    text += words[rng.below(words.size())];
    text += rng.below(10) == 0 ? ".\n" : " ";
    if (rng.below(50) == 0) text += random_text(rng, 20);
  }
  const auto t0 = std::chrono::steady_clock::now();
  const auto ids = tok.encode_gpt2(text);
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  BOOST_TEST_MESSAGE("encoded " << text.size() << " bytes into " << ids.size() << " tokens in " << s << " s ("
                                << static_cast<double>(text.size()) / 1e6 / s << " MB/s)");
  BOOST_TEST(ids.size() > text.size() / 8);
  BOOST_TEST(tok.decode(ids) == text);
  // One 256 KB pre-token (no spaces): the heap-based merge keeps this fast too.
  const std::string long_word(1u << 18, 'a');
  BOOST_TEST(tok.decode(tok.encode_gpt2(long_word)) == long_word);
}

BOOST_AUTO_TEST_CASE(byte_to_unicode_table) {
  // GPT-2's bytes_to_unicode: printable bytes stand for themselves, the other 68 are shifted to
  // U+0100.. in byte order; 256 distinct code points.
  const auto& table = embedlab::io::gpt2_byte_to_unicode();
  std::set<std::string> distinct(table.begin(), table.end());
  BOOST_TEST(distinct.size() == 256u);
  std::uint32_t shifted = 0x100;
  for (std::uint32_t b = 0; b < 256; ++b) {
    const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
    std::string expected;
    boost::locale::utf::utf_traits<char>::encode(printable ? b : shifted++, std::back_inserter(expected));
    BOOST_TEST(table[b] == expected, "byte " << b);
  }
  BOOST_TEST(shifted == 0x100u + 68u);
  BOOST_TEST(table[' '] == "\u0120");   // 'Ġ'
  BOOST_TEST(table['\n'] == "\u010A");  // 'Ċ'
}

BOOST_AUTO_TEST_CASE(tiny_vocabulary_merges_by_rank) {
  TinyFiles f;
  const auto tok = Gpt2Tokenizer::from_gpt2_files(f.encoder, f.merges);
  BOOST_TEST(tok.vocab_size() == 259);
  BOOST_TEST(tok.eot_id() == -1);
  BOOST_TEST(tok.encode_gpt2(" cat") == std::vector<int>{258});
  BOOST_TEST(tok.encode_gpt2("cat") == std::vector<int>{257});
  BOOST_TEST(tok.encode_gpt2("cats") == (std::vector<int>{257, 's'}));
  BOOST_TEST(tok.encode_gpt2("<|endoftext|>").size() == 13u);  // not special in this vocabulary
  const auto from_dir = Gpt2Tokenizer::from_dir(f.dir.path().string());
  BOOST_TEST(from_dir.encode_gpt2(" cat") == std::vector<int>{258});
}

BOOST_AUTO_TEST_CASE(malformed_encoder_json) {
  {
    TinyFiles f;
    embedlab::test::write_file(f.encoder, "{\"a\": 1,");
    check_error([&] { (void)Gpt2Tokenizer::from_gpt2_files(f.encoder, f.merges); }, {"encoder.json", "JSON"});
  }
  {
    TinyFiles f;
    embedlab::test::write_file(f.encoder, "[1, 2]");
    check_error([&] { (void)Gpt2Tokenizer::from_gpt2_files(f.encoder, f.merges); }, {"encoder.json", "object"});
  }
  {
    TinyFiles f;
    f.vocab["cat"] = "x";
    f.write_encoder();
    check_error([&] { (void)Gpt2Tokenizer::from_gpt2_files(f.encoder, f.merges); },
                {"encoder.json", "key 'cat'", "not an integer"});
  }
  {
    TinyFiles f;
    f.vocab["cat"] = 9999;
    f.write_encoder();
    check_error([&] { (void)Gpt2Tokenizer::from_gpt2_files(f.encoder, f.merges); },
                {"encoder.json", "key 'cat'", "out of range"});
  }
  {
    TinyFiles f;
    f.vocab["cat"] = 256;
    f.write_encoder();
    check_error([&] { (void)Gpt2Tokenizer::from_gpt2_files(f.encoder, f.merges); }, {"encoder.json", "already used"});
  }
  {
    TinyFiles f;
    f.vocab["ca t"] = 259;  // a raw space is not a byte-level character (it would be "Ġ")
    f.write_encoder();
    check_error([&] { (void)Gpt2Tokenizer::from_gpt2_files(f.encoder, f.merges); },
                {"encoder.json", "key 'ca t'", "bytes_to_unicode"});
  }
  {
    TinyFiles f;
    f.vocab.erase("Ā");  // byte 0x00
    f.vocab["cat2"] = 0;
    f.write_encoder();
    check_error([&] { (void)Gpt2Tokenizer::from_gpt2_files(f.encoder, f.merges); }, {"encoder.json", "byte 0x00"});
  }
  {
    TinyFiles f;
    embedlab::test::write_file(f.encoder, "{\"a\": 0, \"a\": 1}");
    check_error([&] { (void)Gpt2Tokenizer::from_gpt2_files(f.encoder, f.merges); }, {"encoder.json", "duplicate key"});
  }
  {
    TinyFiles f;
    check_error([&] { (void)Gpt2Tokenizer::from_gpt2_files(f.dir.file("missing.json"), f.merges); }, {"missing.json"});
    try {
      (void)Gpt2Tokenizer::from_gpt2_files(f.dir.file("missing.json"), f.merges);
      BOOST_FAIL("expected an error");
    } catch (const Error& e) {
      BOOST_TEST(e.exit_code() == 66);
    }
  }
}

BOOST_AUTO_TEST_CASE(malformed_vocab_bpe) {
  const std::vector<std::pair<std::string, std::vector<std::string>>> bad = {
      {"#version: 0.2\nc a\nca\n", {"vocab.bpe", "line 3", "two tokens"}},
      {"#version: 0.2\nc a\nca t x\n", {"vocab.bpe", "line 3", "two tokens"}},
      {"#version: 0.2\nc  a\n", {"vocab.bpe", "line 2", "two tokens"}},
      {"#version: 0.2\nc a\nzz t\n", {"vocab.bpe", "line 3", "'zz' is not in", "encoder.json"}},
      {"#version: 0.2\nc a\nc b\n", {"vocab.bpe", "line 3", "merged token 'cb'"}},
      {"#version: 0.2\nc a\nc a\n", {"vocab.bpe", "line 3", "repeats line 2"}},
      {"#version: 0.2\nc \xff\n", {"vocab.bpe", "line 2", "UTF-8"}},
  };
  for (const auto& [text, fragments] : bad) {
    TinyFiles f;
    embedlab::test::write_file(f.merges, text);
    check_error([&] { (void)Gpt2Tokenizer::from_gpt2_files(f.encoder, f.merges); }, fragments);
  }
  TinyFiles f;
  check_error([&] { (void)Gpt2Tokenizer::from_dir(f.dir.file("nowhere")); }, {"nowhere", "fetch gpt2-tokenizer"});
}

BOOST_AUTO_TEST_CASE(words_to_tokens_policies) {
  REQUIRE_TOKENIZER(tok);
  using M = WordPolicy::MultiToken;
  using O = WordPolicy::Oov;
  const std::string multi = "isotropy";  // " isotropy" is several GPT-2 tokens
  const auto pieces = tok.encode_gpt2(" " + multi);
  BOOST_TEST_REQUIRE(pieces.size() > 1u);

  WordPolicy p;
  auto r = embedlab::io::words_to_tokens(tok, {"cat", "dog"}, p);
  BOOST_TEST(r.size() == 2u);
  BOOST_TEST(r[0].ids == std::vector<int>{3797});
  BOOST_TEST(r[1].ids == std::vector<int>{3290});
  BOOST_TEST(r[0].status == WordStatus::ok);
  p.leading_space = false;
  BOOST_TEST(embedlab::io::words_to_tokens(tok, {"cat"}, p)[0].ids == std::vector<int>{9246});
  p.leading_space = true;

  check_error(
      [&] {
        embedlab::io::words_to_tokens(tok, {"cat", multi}, p, "pairs.tsv");
      },
      {"pairs.tsv", "word 2 'isotropy'", "tokens", std::to_string(pieces[0]), "multi_token = error"});
  p.multi_token = M::mean;
  r = embedlab::io::words_to_tokens(tok, {multi}, p);
  BOOST_TEST(r[0].ids == pieces);
  BOOST_TEST(r[0].pieces == pieces);
  BOOST_TEST(r[0].status == WordStatus::multi_token);
  p.multi_token = M::first;
  BOOST_TEST(embedlab::io::words_to_tokens(tok, {multi}, p)[0].ids == std::vector<int>{pieces.front()});
  p.multi_token = M::last;
  BOOST_TEST(embedlab::io::words_to_tokens(tok, {multi}, p)[0].ids == std::vector<int>{pieces.back()});

  check_error([&] { embedlab::io::words_to_tokens(tok, {"cat", ""}, p); }, {"word 2", "oov = error"});
  check_error([&] { embedlab::io::words_to_tokens(tok, {"ca\xfft"}, p); }, {"word 1", "UTF-8"});
  p.oov = O::skip;
  r = embedlab::io::words_to_tokens(tok, {"", "cat", "ca\xfft", "  "}, p);
  BOOST_TEST(r.size() == 4u);
  BOOST_TEST(r[0].status == WordStatus::skipped);
  BOOST_TEST(r[0].ids.empty());
  BOOST_TEST(r[1].status == WordStatus::ok);
  BOOST_TEST(r[2].status == WordStatus::skipped);
  BOOST_TEST(r[3].status == WordStatus::skipped);
  // A word list is text: "<|endoftext|>" there is not the control token.
  r = embedlab::io::words_to_tokens(tok, {"<|endoftext|>"}, p);
  for (const int id : r[0].ids) BOOST_TEST(id != 50256);
}

BOOST_AUTO_TEST_CASE(policy_names) {
  using M = WordPolicy::MultiToken;
  using O = WordPolicy::Oov;
  for (const M m : {M::error, M::mean, M::first, M::last})
    BOOST_TEST((embedlab::io::parse_multi_token(embedlab::io::to_string(m)) == m));
  for (const O o : {O::error, O::skip}) BOOST_TEST((embedlab::io::parse_oov(embedlab::io::to_string(o)) == o));
  BOOST_TEST(!embedlab::io::parse_multi_token("average").has_value());
  BOOST_TEST(!embedlab::io::parse_oov("").has_value());
  BOOST_TEST(std::string(embedlab::io::kMultiTokenNames) == "error|mean|first|last");
  BOOST_TEST(std::string(embedlab::io::to_string(WordStatus::multi_token)) == "multi_token");
}

// Where a GPT-2 checkpoint's tokenizer is looked for: the model directory, else gpt2-tokenizer/ or
// gpt2/ beside it or beside one of its parents; a directory with only one of the two files is not one.
BOOST_AUTO_TEST_CASE(tokenizer_directory_search) {
  namespace fs = std::filesystem;
  embedlab::test::TempDir dir;
  const auto touch = [](const fs::path& p) {
    fs::create_directories(p.parent_path());
    std::ofstream(p) << "{}";
  };
  const fs::path root = fs::path(dir.file("data"));
  const auto find = [](const fs::path& model) {
    return embedlab::io::find_gpt2_tokenizer_dir(model.string()).value_or("(none)");
  };
  fs::create_directories(root / "models" / "tiny");
  BOOST_TEST(find(root / "models" / "tiny") == "(none)");
  touch(root / "gpt2-tokenizer" / "encoder.json");  // half a tokenizer
  BOOST_TEST(find(root / "models" / "tiny") == "(none)");
  touch(root / "gpt2-tokenizer" / "vocab.bpe");
  BOOST_TEST(find(root / "models" / "tiny") == (root / "gpt2-tokenizer").string());
  BOOST_TEST(find(root / "models" / "tiny/") == (root / "gpt2-tokenizer").string());
  touch(root / "models" / "gpt2" / "vocab.json");  // nearer: beside the model directory
  touch(root / "models" / "gpt2" / "merges.txt");
  BOOST_TEST(find(root / "models" / "tiny") == (root / "models" / "gpt2").string());
  touch(root / "models" / "tiny" / "vocab.json");  // nearest: in the model directory
  touch(root / "models" / "tiny" / "merges.txt");
  BOOST_TEST(find(root / "models" / "tiny") == (root / "models" / "tiny").string());
  const auto files = embedlab::io::gpt2_tokenizer_files((root / "models" / "tiny").string());
  BOOST_REQUIRE(files.has_value());
  BOOST_TEST(files->first == (root / "models" / "tiny" / "vocab.json").string());
}

BOOST_AUTO_TEST_SUITE_END()
