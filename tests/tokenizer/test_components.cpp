// The components on tiny hand-made tokenizer.json files whose ids are worked out by hand from the
// rules of Hugging Face tokenizers (the differential test, tests/oracle, checks the real files).
#include <boost/test/unit_test.hpp>

#include "testing.hpp"

#include "core/error.hpp"
#include "tokenizer/from_text.hpp"
#include "tokenizer/token_index.hpp"
#include "tokenizer/tokenizer_json.hpp"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace {

using embedlab::tok::Tokenizer;
using embedlab::tok::WordStyle;
using Ids = std::vector<int>;

Tokenizer load(const nlohmann::json& j) { return embedlab::tok::tokenizer_from_json_text(j.dump(), "tiny.json"); }

nlohmann::json bert_like() {
  nlohmann::json j;
  j["normalizer"] = {{"type", "BertNormalizer"}, {"lowercase", true}};
  j["pre_tokenizer"] = {{"type", "BertPreTokenizer"}};
  j["model"] = {{"type", "WordPiece"},
                {"unk_token", "[UNK]"},
                {"continuing_subword_prefix", "##"},
                {"vocab",
                 {{"[UNK]", 0},
                  {"[CLS]", 1},
                  {"[SEP]", 2},
                  {"un", 3},
                  {"##aff", 4},
                  {"##able", 5},
                  {"cat", 6},
                  {",", 7},
                  {"##s", 8},
                  {"able", 9}}}};
  j["post_processor"] = {{"type", "BertProcessing"}, {"sep", {"[SEP]", 2}}, {"cls", {"[CLS]", 1}}};
  j["decoder"] = {{"type", "WordPiece"}, {"prefix", "##"}, {"cleanup", true}};
  j["added_tokens"] = {{{"id", 1}, {"content", "[CLS]"}, {"special", true}, {"normalized", false}},
                       {{"id", 2}, {"content", "[SEP]"}, {"special", true}, {"normalized", false}}};
  return j;
}

nlohmann::json sentencepiece_like() {
  nlohmann::json j;
  j["pre_tokenizer"] = {{"type", "Metaspace"}, {"replacement", "\u2581"}, {"prepend_scheme", "always"}};
  j["model"] = {
      {"type", "BPE"},
      {"unk_token", "<unk>"},
      {"fuse_unk", true},
      {"vocab",
       {{"<unk>", 0}, {"\u2581", 1}, {"c", 2}, {"a", 3}, {"t", 4}, {"\u2581c", 5}, {"at", 6}, {"\u2581cat", 7}}},
      {"merges", {"\u2581 c", "a t", "\u2581c at"}}};
  j["decoder"] = {{"type", "Metaspace"}, {"replacement", "\u2581"}, {"prepend_scheme", "always"}};
  return j;
}

void check_error(const std::function<void()>& f, const std::vector<std::string>& fragments) {
  try {
    f();
    BOOST_FAIL("expected an embedlab::Error");
  } catch (const embedlab::Error& e) {
    const std::string msg = e.what();
    BOOST_TEST(msg.find('\n') == std::string::npos);
    for (const auto& frag : fragments) BOOST_TEST(msg.find(frag) != std::string::npos, "'" << frag << "' in: " << msg);
  }
}

}  // namespace

BOOST_AUTO_TEST_SUITE(components)

BOOST_AUTO_TEST_CASE(wordpiece_bert_pipeline) {
  const auto tok = load(bert_like());
  // "Unaffable" → "unaffable" → un ##aff ##able; "cats" → cat ##s; "," isolated; "dog" unknown.
  BOOST_TEST(tok.encode_ids("Unaffable cats, dog") == (Ids{3, 4, 5, 6, 8, 7, 0}));
  BOOST_TEST(tok.encode_ids("Unaffable", true) == (Ids{1, 3, 4, 5, 2}));
  BOOST_TEST(tok.encode_ids("", true) == (Ids{1, 2}));
  BOOST_TEST(tok.encode_ids("[CLS] cat") == (Ids{1, 6}));  // added tokens parsed inside text
  BOOST_TEST(tok.encode("cats").tokens == (std::vector<std::string>{"cat", "##s"}));
  BOOST_TEST(tok.decode({3, 4, 5, 6, 8, 7}) == "unaffable cats,");
  BOOST_TEST(tok.decode({1, 6, 2}, true) == "cat");
  BOOST_TEST(static_cast<int>(tok.word_style()) == static_cast<int>(WordStyle::wordpiece));
  BOOST_TEST(tok.word_ids("able", true) == Ids{9});
  BOOST_TEST(tok.word_ids("able", false) == Ids{5});  // the continuation form "##able"
}

BOOST_AUTO_TEST_CASE(metaspace_bpe_pipeline) {
  const auto tok = load(sentencepiece_like());
  // "cat cat" → "▁cat▁cat" split before each ▁ → ▁cat ▁cat; merges ▁+c, a+t, ▁c+at.
  BOOST_TEST(tok.encode_ids("cat cat") == (Ids{7, 7}));
  // "xa": x unknown → <unk>, then ▁ and a: "▁xa" → ▁ <unk> a (no merge applies).
  BOOST_TEST(tok.encode_ids("xa") == (Ids{1, 0, 3}));
  BOOST_TEST(tok.encode_ids("xxa") == (Ids{1, 0, 3}));  // fuse_unk: one <unk> for the run
  BOOST_TEST(tok.decode({7, 7}) == "cat cat");
  BOOST_TEST(static_cast<int>(tok.word_style()) == static_cast<int>(WordStyle::metaspace));
  BOOST_TEST(tok.word_ids("cat", true) == Ids{7});
  BOOST_TEST(tok.word_ids("cat", false) == (Ids{2, 6}));  // no ▁: c + at
  BOOST_TEST(tok.token_bytes(7) == " cat");
}

BOOST_AUTO_TEST_CASE(added_token_flags) {
  // Hugging Face's own case (added_vocabulary.rs, options_use_cases): "my" lstrip + rstrip, "ony"
  // single_word, Lowercase normalizer; with WhitespaceSplit and WordLevel the ids show the splits.
  nlohmann::json j;
  j["normalizer"] = {{"type", "Lowercase"}};
  j["pre_tokenizer"] = {{"type", "WhitespaceSplit"}};
  j["model"] = {{"type", "WordLevel"},
                {"unk_token", "[UNK]"},
                {"vocab", {{"[UNK]", 0}, {"is", 1}, {"anthony", 2}, {"a", 3}, {"an", 4}, {"th", 5}}}};
  j["added_tokens"] = {{{"id", 10}, {"content", "my"}, {"lstrip", true}, {"rstrip", true}, {"normalized", true}},
                       {{"id", 11}, {"content", "name"}, {"normalized", true}},
                       {{"id", 12}, {"content", "ony"}, {"single_word", true}, {"normalized", true}},
                       {{"id", 13}, {"content", "[CLS]"}, {"special", true}, {"normalized", false}},
                       {{"id", 14}, {"content", "[SEP]"}, {"special", true}, {"normalized", false}}};
  const auto tok = load(j);
  // Added-token ids are assigned as Hugging Face does: after the model's 6 tokens, in order.
  BOOST_TEST(tok.encode_ids("[CLS] My name is Anthony [SEP]") == (Ids{9, 6, 7, 1, 2, 10}));
  BOOST_TEST(tok.encode_ids("a ony b") == (Ids{3, 8, 0}));   // single word: extracted
  BOOST_TEST(tok.encode_ids("anthony") == Ids{2});           // inside a word: not extracted
  BOOST_TEST(tok.encode_ids("my", false, false) == Ids{0});  // parse_special off: plain text
}

BOOST_AUTO_TEST_CASE(split_behaviors) {
  const auto ids = [](const std::string& behavior, bool invert, const std::string& text) {
    nlohmann::json j;
    j["pre_tokenizer"] = {
        {"type", "Split"}, {"pattern", {{"String", "-"}}}, {"behavior", behavior}, {"invert", invert}};
    j["model"] = {{"type", "WordLevel"},
                  {"unk_token", "?"},
                  {"vocab", {{"?", 0}, {"a", 1}, {"-", 2}, {"a-", 3}, {"-a", 4}, {"--", 5}, {"b", 6}}}};
    return load(j).encode_ids(text);
  };
  BOOST_TEST(ids("Removed", false, "a-b") == (Ids{1, 6}));
  BOOST_TEST(ids("Isolated", false, "a-b") == (Ids{1, 2, 6}));
  BOOST_TEST(ids("MergedWithPrevious", false, "a-b") == (Ids{3, 6}));
  BOOST_TEST(ids("MergedWithNext", false, "b-a") == (Ids{6, 4}));
  BOOST_TEST(ids("Contiguous", false, "a--b") == (Ids{1, 5, 6}));
  BOOST_TEST(ids("Removed", true, "a-b") == (Ids{2}));  // inverted: the non-matches are removed
}

BOOST_AUTO_TEST_CASE(bad_files_are_one_line_errors) {
  auto j = sentencepiece_like();
  j["normalizer"] = {{"type", "Precompiled"}};
  check_error([&] { load(j); }, {"tiny.json", "normalizer", "unsupported normalizer type 'Precompiled'"});
  j = sentencepiece_like();
  j["pre_tokenizer"] = {{"type", "Split"}, {"pattern", {{"Regex", "(unclosed"}}}, {"behavior", "Removed"}};
  check_error([&] { load(j); }, {"pre_tokenizer.pattern.Regex", "invalid regex '(unclosed'"});
  j = sentencepiece_like();
  j["model"]["merges"] = {"c q"};
  check_error([&] { load(j); }, {"model.merges[0]", "'q' is not in the vocabulary"});
  j = sentencepiece_like();
  j["model"]["vocab"]["zz"] = 99;
  check_error([&] { load(j); }, {"model.vocab", "out of range"});
  j = sentencepiece_like();
  j["model"]["vocab"]["zz"] = "x";
  check_error([&] { load(j); }, {"model.vocab", "not an integer"});
  j = sentencepiece_like();
  j["decoder"] = {{"type", "CTC"}};
  check_error([&] { load(j); }, {"decoder", "unsupported decoder type 'CTC'"});
  check_error([&] { embedlab::tok::tokenizer_from_json_text("{\"model\": ", "x.json"); }, {"x.json", "not valid JSON"});
  check_error([&] { embedlab::tok::tokenizer_from_json_text("[1]", "x.json"); }, {"x.json", "expected a JSON object"});
  // A catastrophic pattern hits PCRE2's match limit: an error naming the pattern, not a hang.
  j = sentencepiece_like();
  j["pre_tokenizer"] = {{"type", "Split"}, {"pattern", {{"Regex", "(a+)+$"}}}, {"behavior", "Removed"}};
  const auto slow = load(j);
  check_error([&] { (void)slow.encode_ids(std::string(40, 'a') + "b"); }, {"(a+)+$"});
}

BOOST_AUTO_TEST_CASE(bert_vocab_txt_duplicates_keep_the_last_line) {
  embedlab::test::TempDir dir;
  embedlab::test::write_file(dir.file("vocab.txt"), "[PAD]\n[UNK]\n[CLS]\n[SEP]\ncat\n##s\ncat\n");
  embedlab::test::write_file(dir.file("tokenizer_config.json"), "{\"do_lower_case\": true}");
  const auto tok = Tokenizer::from_dir(dir.path().string());
  BOOST_TEST(tok.encode_ids("Cats") == (Ids{6, 5}));  // "cat" is line 7 (id 6), as Hugging Face reads it
  BOOST_TEST(tok.encode_ids("cat", true) == (Ids{2, 6, 3}));
  BOOST_TEST(tok.files().size() == 2u);
}

BOOST_AUTO_TEST_CASE(token_index_equals_a_map) {
  // Against std::unordered_map: growth from empty, replaced ids, the empty token, NUL bytes and
  // tokens that are prefixes of one another.
  embedlab::tok::TokenIndex index;
  std::unordered_map<std::string, int> ref;
  std::vector<std::string> keys = {"", std::string("a\0b", 3), std::string("a\0c", 3), "a", "ab", "abc"};
  for (int i = 0; i < 5000; ++i) keys.push_back(fmt::format("t{}", i * 7919 % 10007));
  for (std::size_t k = 0; k < keys.size(); ++k) {
    index.set(keys[k], static_cast<int>(k));
    ref[keys[k]] = static_cast<int>(k);
  }
  for (std::size_t k = 0; k < keys.size(); k += 3) {
    index.set(keys[k], -static_cast<int>(k));
    ref[keys[k]] = -static_cast<int>(k);
  }
  BOOST_TEST(index.size() == ref.size());
  for (const auto& [key, id] : ref) BOOST_TEST(index.find(key).value_or(-1 - id) == id);
  for (const std::string& absent : std::vector<std::string>{"b", "abcd", "t10007", std::string("a\0", 2)})
    BOOST_TEST(!index.contains(absent), absent);
  BOOST_TEST(!embedlab::tok::TokenIndex{}.find("x"));
  BOOST_TEST(!index.insert("ab", 99));  // there: its id stays
  BOOST_TEST(index.find("ab").value_or(-1) == ref.at("ab"));
  BOOST_TEST(index.insert("new", 7));
  BOOST_TEST(index.find("new").value_or(-1) == 7);
}

BOOST_AUTO_TEST_CASE(captured_vocab_and_merges) {
  // Merges as [a, b] pairs equal merges as "a b" strings.
  auto j = sentencepiece_like();
  const Ids want = load(j).encode_ids("cat cat");
  j["model"]["merges"] = nlohmann::json::parse(R"([["\u2581", "c"], ["a", "t"], ["\u2581c", "at"]])");
  BOOST_TEST(load(j).encode_ids("cat cat") == want);
  BOOST_TEST(want == (Ids{7, 7}));
  for (const auto& [merges, got] : std::vector<std::pair<std::string, std::string>>{{R"([["a"]])", R"(["a"])"},
                                                                                    {R"([["a", 1]])", R"(["a",1])"},
                                                                                    {R"([[["a", "t"]]])", "array"},
                                                                                    {"[3]", "3"},
                                                                                    {R"([{"k": 1}])", "object"}}) {
    j["model"]["merges"] = nlohmann::json::parse(merges);
    check_error([&] { load(j); },
                {"tiny.json", "model.merges[0]", "expected \"a b\" or [\"a\", \"b\"] (got " + got + ")"});
  }
  j = sentencepiece_like();
  j["model"]["vocab"]["zz"] = {{"id", 8}};
  check_error([&] { load(j); }, {"model.vocab['zz']", "id is not an integer (got object)"});
  j["model"]["vocab"]["zz"] = 8.5;
  check_error([&] { load(j); }, {"model.vocab['zz']", "id is not an integer (got 8.5)"});
  // A token given twice in the vocabulary keeps its last id (serde's map); so does any other key.
  const std::string text = R"({"pre_tokenizer": {"type": "Whitespace"}, "model": {"type": "WordLevel",)"
                           R"( "unk_token": "u", "vocab": {"a": 5, "u": 2, "b": 1, "a": 0}}, "decoder": null})";
  const auto tok = embedlab::tok::tokenizer_from_json_text(text, "dup.json");
  BOOST_TEST(tok.encode_ids("a b c") == (Ids{0, 1, 2}));
}

// The fast tokenizer.json reader (simdjson) against the exact one (nlohmann): the same DOM and the
// same captured vocab and merges, or the same one-line error; `fast` says which reader answered.
struct ReadersAgree {
  bool fast = false;
  std::string error;  // the message when both failed
};
ReadersAgree read_both(const std::string& text) {
  using embedlab::tok::read_tokenizer_json;
  using embedlab::tok::read_tokenizer_json_exact;
  std::string padded = text;
  padded.reserve(text.size() + embedlab::tok::tokenizer_json_padding());
  std::string exact_error, fast_error;
  embedlab::tok::TokenizerJson exact, fast;
  try {
    exact = read_tokenizer_json_exact(text, "t.json");
  } catch (const embedlab::Error& e) {
    exact_error = e.what();
  }
  try {
    fast = read_tokenizer_json(padded, padded.capacity(), "t.json");
  } catch (const embedlab::Error& e) {
    fast_error = e.what();
  }
  BOOST_TEST(fast_error == exact_error, text);
  BOOST_TEST(fast.root == exact.root, text);
  BOOST_TEST(fast.tables.has_vocab == exact.tables.has_vocab, text);
  BOOST_TEST(fast.tables.has_merges == exact.tables.has_merges, text);
  BOOST_TEST((fast.tables.vocab == exact.tables.vocab), text);
  BOOST_TEST((fast.tables.merges == exact.tables.merges), text);
  BOOST_TEST(fast.repeated_key == exact.repeated_key, text);
  return {fast.fast, exact_error};
}

BOOST_AUTO_TEST_CASE(fast_tokenizer_json_reader_equals_the_exact_one) {
  const std::string bpe = sentencepiece_like().dump();
  // Read by the fast reader.
  for (const std::string& text : std::vector<std::string>{
           bpe,
           bert_like().dump(),
           // pairs, escapes in keys and tokens (a key spelled with escapes is the same key), numbers
           // and nulls beside the tables, a vocabulary that is not an object (Unigram's array) or
           // absent, merges null, a repeated key elsewhere (the last wins), a token given twice,
           // negative and out-of-range ids (read_vocab's errors), whitespace everywhere
           R"({"m\u006fdel": {"type": "BPE", "dropout": 0.0, "v\u006fcab": {"a": 0, "\u0062": 1, "ab": 2},)"
           R"( "merges": [["a", "b"], "a b c"]}, "version": "1.0", "x": [1, 2.5, -0, 1e3, true, null]})",
           R"({"model": {"type": "Unigram", "vocab": [["a", -1.5], ["b", -2]]}})",
           R"({"model": {"type": "BPE", "merges": null}, "decoder": {"type": "A"}, "decoder": null})",
           R"({"model": {"type": "WordLevel", "vocab": {"a": 5, "u": 2, "a": 0, "b": -1, "c": 99}}})",
           " \n{ \"model\" : { \"vocab\" : { } , \"merges\" : [ ] } }\n ",
           R"({"model": 3, "added_tokens": []})",
           R"({})",
       })
    BOOST_TEST(read_both(text).fast, text);
  // Left to the exact reader, which gives the old results and messages.
  for (const std::string& text : std::vector<std::string>{
           R"({"model": {"vocab": {"a": 1.0}}})",                    // a float id
           R"({"model": {"vocab": {"a": 9223372036854775808}}})",    // past int64
           R"({"model": {"vocab": {"a": "0"}}})",                    // a string id
           R"({"model": {"merges": ["ab"]}})",                       // no space
           R"({"model": {"merges": [["a", 1]]}})",                   // not two strings
           R"({"model": {"merges": [["a", "b", "c"]]}})",            // three
           R"({"model": {"merges": [3]}})",                          //
           R"({"model": {"vocab": {"a": 0}, "vocab": {"b": 0}}})",   // vocab twice
           R"({"model": {"merges": [], "merges": []}})",             // merges twice
           R"({"model": {}, "model": {"vocab": {"a": 0}}})",         // model twice
           R"({"model": {}} x)",                                     // trailing content
           R"({"model": {}, "normalizer": {"type": }})",             // a syntax error
           R"({"model": {"vocab": {"a": 0,}}})",                     // a trailing comma
           R"({"model": {"type": "BPE", "max": "d": 3, "e": 4}})",   // a colon after a value
           R"({"model": {"max": "d": 3, "e": 4}}, "x": {"y": 1}})",  // the same, fuzz_tokenizer_json's find
           R"({"version": "1.0" "model": {}})",                      // no comma after a string
           R"({"a": 1: 2, "model": {}})",                            // after a number
           R"({"model": {"fuse_unk": true: 1}})",                    // after a boolean
           R"({"model": {"unk_token": null "x": 1}})",               // after null
           R"({"model": {"merges": ["a b" "c d"]}})",                // between merges
           R"({"model": {"vocab": {"a": 0 "b": 1}}})",               // between vocab entries
           "{\"model\": {\"vocab\": {\"\xff\": 0}}}",                // invalid UTF-8
           R"({"model": {"vocab": {"\ud800": 0}}})",                 // a lone surrogate
           R"([1])",                                                 // not an object
           "",
       })
    BOOST_TEST(!read_both(text).fast, text);
  BOOST_TEST(read_both(R"({"model": {}, "normalizer": {"type": }})").error.find("t.json") == 0u);
}

BOOST_AUTO_TEST_CASE(vocab_and_merges_errors_through_either_reader) {
  // Each a one-line error naming the file and the entry (the fast reader's files and the ones it
  // leaves to the exact reader alike).
  auto j = sentencepiece_like();
  j["model"]["vocab"]["zz"] = -1;
  check_error([&] { load(j); }, {"tiny.json", "model.vocab['zz']", "id out of range (got -1, expected 0..8)"});
  j["model"]["vocab"]["zz"] = 1.0;
  check_error([&] { load(j); }, {"tiny.json", "model.vocab['zz']", "id is not an integer (got 1.0)"});
  j["model"]["vocab"]["zz"] = 1e20;
  check_error([&] { load(j); }, {"tiny.json", "model.vocab['zz']", "id is not an integer (got 1e+20)"});
  j = sentencepiece_like();
  j["model"]["vocab"]["zz"] = 0;
  check_error([&] { load(j); }, {"tiny.json", "model.vocab['zz']", "id 0 already used by"});
  j = sentencepiece_like();
  j["model"]["merges"] = {"a t", "ca"};
  check_error([&] { load(j); }, {"tiny.json", "model.merges[1]", "expected \"a b\" (got 'ca')"});
  j["model"]["merges"] = {"a t", "at zz"};
  check_error([&] { load(j); }, {"tiny.json", "model.merges[1]", "merge token 'zz' is not in the vocabulary"});
  j["model"]["merges"] = {"a t", "c t"};
  check_error([&] { load(j); }, {"tiny.json", "model.merges[1]", "merged token 'ct' is not in the vocabulary"});
  check_error([&] { embedlab::tok::tokenizer_from_json_text("{\"model\": {\"vocab\": {\"\xff\": 0}}}", "u.json"); },
              {"u.json", "not valid UTF-8 (byte 22 of the JSON text)"});
}

BOOST_AUTO_TEST_CASE(shared_from_dir_reloads_only_changed_files) {
  embedlab::test::TempDir dir;
  embedlab::test::write_file(dir.file("vocab.txt"), "[PAD]\n[UNK]\n[CLS]\n[SEP]\ncat\n");
  const auto a = Tokenizer::shared_from_dir(dir.path().string());
  BOOST_TEST(Tokenizer::shared_from_dir(dir.path().string()) == a);  // the same object, not a reload
  BOOST_TEST(a->vocab_size() == 5);
  embedlab::test::write_file(dir.file("vocab.txt"), "[PAD]\n[UNK]\n[CLS]\n[SEP]\ncat\n##s\n");
  const auto b = Tokenizer::shared_from_dir(dir.path().string());
  BOOST_TEST(b != a);
  BOOST_TEST(b->vocab_size() == 6);
  BOOST_TEST(a->vocab_size() == 5);  // a holder of the old one keeps it
  embedlab::test::write_file(dir.file("tokenizer_config.json"), "{\"do_lower_case\": false}");  // a new file
  const auto c = Tokenizer::shared_from_dir(dir.path().string());
  BOOST_TEST(c != b);
  BOOST_TEST(c->encode_ids("Cat") == (Ids{1}));  // case kept: "Cat" is unknown
}

BOOST_AUTO_TEST_SUITE_END()
