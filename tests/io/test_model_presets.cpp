// Model directories of every preset: synthetic checkpoints written by model_writer.hpp (Hugging Face
// tensor names declared there, not taken from the library's table), loaded through the presets and
// compared bit for bit with the values the writer stored.
#include <boost/test/unit_test.hpp>

#include "binary_writers.hpp"
#include "io/embedding.hpp"
#include "io/model_presets.hpp"
#include "io/readers.hpp"
#include "io/word_lookup.hpp"
#include "model_writer.hpp"
#include "testing.hpp"
#include "tokenizer/tokenizer.hpp"

#include <malloc.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <set>

using namespace embedlab;
using namespace embedlab::test;
namespace fs = std::filesystem;

namespace {

// The loaded d×n matrix holds exactly the row-major values of the tensor (same bits).
void check_bits(const io::Embeddings& e, const SynthTensor& t, const std::string& what) {
  BOOST_TEST_CONTEXT(what) {
    BOOST_REQUIRE(e.rows() == t.shape.at(0));
    BOOST_REQUIRE(e.dim() == t.shape.at(1));
    BOOST_TEST(std::memcmp(e.vectors.memptr(), t.values.data(), t.values.size() * sizeof(float)) == 0);
  }
}

nlohmann::json config_of(const std::string& dir) {
  std::ifstream in(fs::path(dir) / "config.json");
  return nlohmann::json::parse(in);
}

io::Embeddings load(const std::string& dir, const std::string& matrix) {
  io::LoadOptions lo;
  lo.path = dir;
  lo.matrix = matrix;
  return io::load_embeddings(lo);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(model_presets)

// Every preset, sharded BF16, sharded F32 and single-file F16: input, output (tied or not) and
// position matrices equal the file's values bit-exactly.
BOOST_AUTO_TEST_CASE(every_preset_loads_bit_exactly) {
  TempDir tmp;
  int k = 0;
  for (const auto& preset : synth_presets()) {
    for (const auto& [dtype, shards] : std::vector<std::pair<std::string, int>>{{"BF16", 2}, {"F32", 3}, {"F16", 1}}) {
      SynthSpec s;
      s.preset = preset;
      s.dtype = dtype;
      s.shards = shards;
      s.seed = static_cast<std::uint64_t>(++k);
      const std::string dir = tmp.file(fmt::format("{}-{}-{}", preset, dtype, shards));
      const SynthModel m = write_model(dir, s);
      const std::string ctx = fmt::format("{} {} {} shard(s)", preset, dtype, shards);
      BOOST_TEST_CONTEXT(ctx) {
        BOOST_TEST(io::detect_format(dir) == (preset == "gpt2" && shards == 1 ? "gpt2" : "model"));
        const io::ModelDir md = io::open_model_dir(dir);
        BOOST_TEST(md.config.preset->name == preset);
        BOOST_TEST(md.sharded == (shards > 1));
        check_bits(io::load_model_matrix(md, io::MatrixKind::input), m.tensors.at(m.input), ctx + " input");
        const io::ModelMatrixInfo out = md.matrix(io::MatrixKind::output);
        BOOST_TEST(out.tensor == m.output);
        BOOST_TEST(out.tied == (m.output == m.input));
        BOOST_TEST(out.shard == (fs::path(dir) / m.shard_of.at(m.output)).string());
        BOOST_TEST(out.dtype == dtype);
        check_bits(io::load_model_matrix(md, io::MatrixKind::output), m.tensors.at(m.output), ctx + " output");
        if (!m.position.empty())
          check_bits(io::load_model_matrix(md, io::MatrixKind::position), m.tensors.at(m.position), ctx + " position");
        else
          check_error([&] { md.matrix(io::MatrixKind::position); }, {"no position matrix"}, Exit::usage);
        // The same through load_embeddings with embeddings.matrix (GPT-2 single files go through the
        // GPT-2 checkpoint reader, which needs the whole declared table: not written here).
        if (!(preset == "gpt2" && shards == 1)) {
          check_bits(load(dir, "input"), m.tensors.at(m.input), ctx + " load_embeddings input");
          check_bits(load(dir, "output"), m.tensors.at(m.output), ctx + " load_embeddings output");
        }
      }
    }
  }
}

// BF16 is the upper half of float32 (every bit pattern, signs, subnormals, infinities kept), F16 as
// IEEE half: the conversion of each bit pattern is checked against an independent computation.
BOOST_AUTO_TEST_CASE(low_precision_conversion_is_exact) {
  TempDir tmp;
  SynthSpec s;
  s.preset = "llama";
  s.vocab = 65536 / 8;
  s.dim = 8;
  s.tie = true;
  s.shards = 1;
  const std::string dir = tmp.file("m");
  write_model(dir, s);
  // Overwrite the input matrix with every BF16 bit pattern except NaNs (refused as non-finite by
  // experiments, but converted here exactly too).
  std::string data(65536 * 2, '\0');
  std::vector<float> want(65536);
  for (std::uint32_t b = 0; b < 65536; ++b) {
    data[2 * b] = static_cast<char>(b & 0xff);
    data[2 * b + 1] = static_cast<char>(b >> 8);
    const std::uint32_t bits = b << 16;
    std::memcpy(&want[b], &bits, 4);
  }
  const std::string header = st_header({st_entry("model.embed_tokens.weight", "BF16", "[8192,8]", 0, data.size())});
  write_file((fs::path(dir) / "model.safetensors").string(), safetensors_bytes(header, data));
  const io::Embeddings e = load(dir, "input");
  BOOST_TEST(std::memcmp(e.vectors.memptr(), want.data(), want.size() * 4) == 0);
  BOOST_TEST(e.source.dtype == "BF16");
  BOOST_TEST(e.source.format == "model: llama input = model.embed_tokens.weight");

  // F16: every pattern, expected values from the compiler's _Float16.
  std::vector<float> want16(65536);
  for (std::uint32_t b = 0; b < 65536; ++b) {
    const auto h = static_cast<std::uint16_t>(b);
    _Float16 f;
    std::memcpy(&f, &h, 2);
    want16[b] = static_cast<float>(f);
  }
  const std::string h16 = st_header({st_entry("model.embed_tokens.weight", "F16", "[8192,8]", 0, data.size())});
  write_file((fs::path(dir) / "model.safetensors").string(), safetensors_bytes(h16, data));
  const io::Embeddings e16 = load(dir, "input");
  std::size_t same = 0;
  for (std::size_t i = 0; i < want16.size(); ++i) {
    const float got = e16.vectors.memptr()[i];
    same += std::memcmp(&got, &want16[i], 4) == 0 || (std::isnan(got) && std::isnan(want16[i]));
  }
  BOOST_TEST(same == want16.size());
}

// Only the shards holding the requested tensors are opened: every other shard is garbage here.
BOOST_AUTO_TEST_CASE(unrequested_shards_are_never_opened) {
  TempDir tmp;
  SynthSpec s;
  s.preset = "llama";
  s.shards = 3;  // input → shard 1, model.norm → shard 2, lm_head → shard 3
  const std::string dir = tmp.file("m");
  const SynthModel m = write_model(dir, s);
  BOOST_REQUIRE(m.shard_of.at("model.embed_tokens.weight") == "model-00001-of-00003.safetensors");
  BOOST_REQUIRE(m.shard_of.at("lm_head.weight") == "model-00003-of-00003.safetensors");
  write_file((fs::path(dir) / "model-00002-of-00003.safetensors").string(), "garbage, not a safetensors file");
  write_file((fs::path(dir) / "model-00003-of-00003.safetensors").string(), "garbage too");
  check_bits(load(dir, "input"), m.tensors.at("model.embed_tokens.weight"), "input beside garbage shards");
  // Asking for the output does open shard 3 (and fails on it): the garbage would have been noticed.
  check_error([&] { load(dir, "output"); }, {"model-00003-of-00003.safetensors"});
  // A shard that is not there at all is only an error when it is needed.
  fs::remove(fs::path(dir) / "model-00002-of-00003.safetensors");
  check_bits(load(dir, "input"), m.tensors.at("model.embed_tokens.weight"), "input without shard 2");
  fs::remove(fs::path(dir) / "model-00003-of-00003.safetensors");
  check_error([&] { load(dir, "output"); }, {"model-00003-of-00003.safetensors", "missing shard", "lm_head.weight"},
              Exit::no_input);
}

BOOST_AUTO_TEST_CASE(tying_follows_the_config_and_the_preset_default) {
  TempDir tmp;
  SynthSpec s;
  s.preset = "qwen2";
  s.tie = true;
  s.write_output_when_tied = true;
  const SynthModel m = write_model(tmp.file("tied"), s);
  const io::ModelDir md = io::open_model_dir(m.dir);
  const auto out = md.matrix(io::MatrixKind::output);
  BOOST_TEST(out.tied);
  BOOST_TEST(out.tensor == "model.embed_tokens.weight");
  BOOST_TEST(out.note.find("lm_head.weight is not used") != std::string::npos, out.note);
  BOOST_TEST(io::describe(md, out).find("qwen2 output = model.embed_tokens.weight (tied") == 0, io::describe(md, out));
  check_bits(load(m.dir, "output"), m.tensors.at("model.embed_tokens.weight"), "tied output is the input");

  // gemma ties by default; llama does not, and then lm_head.weight is required.
  SynthSpec g;
  g.preset = "gemma";
  const SynthModel gm = write_model(tmp.file("gemma"), g);
  BOOST_TEST(io::open_model_dir(gm.dir).matrix(io::MatrixKind::output).tied);
  SynthSpec l;
  l.preset = "llama";
  l.tie = true;  // written without lm_head.weight …
  const SynthModel lm = write_model(tmp.file("llama"), l);
  auto cfg = config_of(lm.dir);
  cfg.erase("tie_word_embeddings");  // … then the config says nothing: llama's default is untied
  write_file((fs::path(lm.dir) / "config.json").string(), cfg.dump());
  check_error([&] { io::open_model_dir(lm.dir).matrix(io::MatrixKind::output); },
              {"missing the llama output matrix", "the llama default", "lm_head.weight", "model.embed_tokens.weight",
               "model.norm.weight"});
}

BOOST_AUTO_TEST_CASE(bad_directories_are_refused_with_one_line) {
  TempDir tmp;
  SynthSpec s;
  s.preset = "bert";
  const SynthModel m = write_model(tmp.file("bert"), s);
  const std::string cfg_path = (fs::path(m.dir) / "config.json").string();
  const std::string index_path = (fs::path(m.dir) / "model.safetensors.index.json").string();
  const std::string good_cfg = read_file(cfg_path), good_index = read_file(index_path);

  write_file(cfg_path, "{not json");
  check_error([&] { io::open_model_dir(m.dir); }, {"config.json"});
  write_file(cfg_path, R"({"model_type": "mamba", "vocab_size": 4, "hidden_size": 2})");
  check_error([&] { io::open_model_dir(m.dir); }, {"model_type", "mamba", "gpt_neox", "llama", "bert", "opt", "phi"});
  write_file(cfg_path, R"({"model_type": "bert", "vocab_size": "40", "hidden_size": 8})");
  check_error([&] { io::open_model_dir(m.dir); }, {"vocab_size", "positive integer", "\"40\""});
  write_file(cfg_path, R"({"model_type": "bert", "vocab_size": 40, "hidden_size": 8, "max_position_embeddings": 16,
                           "tie_word_embeddings": "yes"})");
  check_error([&] { io::open_model_dir(m.dir); }, {"tie_word_embeddings", "true or false"});
  // Sizes that disagree with the tensors.
  write_file(cfg_path, R"({"model_type": "bert", "vocab_size": 41, "hidden_size": 8, "max_position_embeddings": 16})");
  check_error([&] { io::open_model_dir(m.dir).matrix(io::MatrixKind::input); },
              {"bert.embeddings.word_embeddings.weight", "[40, 8]", "[41, 8]", "vocab_size 41"});
  write_file(cfg_path, good_cfg);

  // The index: a shard path leaving the directory, a tensor in two shards, no weight_map.
  write_file(index_path, R"({"weight_map": {"bert.embeddings.word_embeddings.weight": "../evil.safetensors"}})");
  check_error([&] { io::open_model_dir(m.dir); }, {"weight_map", "../evil.safetensors", "no '/'"});
  write_file(index_path, R"({"weight_map": {"a": "x.safetensors", "a": "y.safetensors"}})");
  check_error([&] { io::open_model_dir(m.dir); }, {"model.safetensors.index.json", "a"});
  write_file(index_path, R"({"metadata": {}})");
  check_error([&] { io::open_model_dir(m.dir); }, {"weight_map", "missing"});
  // The index names a shard that does not hold the tensor.
  nlohmann::json idx = nlohmann::json::parse(good_index);
  const std::string in_shard = idx["weight_map"]["bert.embeddings.word_embeddings.weight"];
  const std::string other = in_shard == "model-00001-of-00002.safetensors" ? "model-00002-of-00002.safetensors"
                                                                           : "model-00001-of-00002.safetensors";
  idx["weight_map"]["bert.embeddings.word_embeddings.weight"] = other;
  write_file(index_path, idx.dump());
  check_error([&] { io::open_model_dir(m.dir).matrix(io::MatrixKind::input); },
              {"not in this shard", "bert.embeddings.word_embeddings.weight"});

  // No safetensors at all: a pickle is refused, nothing is a missing-input error.
  fs::remove(index_path);
  check_error([&] { io::open_model_dir(m.dir); }, {"missing model.safetensors"}, Exit::no_input);
  write_file((fs::path(m.dir) / "pytorch_model.bin").string(), "PK\x03\x04 pickle");
  check_error([&] { io::open_model_dir(m.dir); }, {"pytorch_model.bin", "pickle", "safetensors"});
  io::LoadOptions lo;
  lo.path = m.dir;
  check_error([&] { io::load_embeddings(lo); }, {"pytorch_model.bin", "pickle"});
}

BOOST_AUTO_TEST_CASE(preset_table_and_embedding_tensor_names) {
  // Every preset is one entry with an input matrix; model types are not shared between presets.
  std::set<std::string> types;
  for (const auto& p : io::model_presets()) {
    BOOST_TEST(!p.input.empty(), p.name);
    for (const auto& t : p.model_types) BOOST_TEST(types.insert(t).second, t);
  }
  for (const auto& name : synth_presets()) BOOST_TEST(types.count(name) == 1, name);

  const auto names = io::embedding_tensor_names(nlohmann::json::parse(R"({"model_type": "llama"})"));
  for (const char* n : {"model.embed_tokens.weight", "lm_head.weight"})
    BOOST_TEST((std::find(names.begin(), names.end(), n) != names.end()), n);
  const auto neox = io::embedding_tensor_names(nlohmann::json::parse(R"({"architectures": ["GPTNeoXForCausalLM"]})"));
  for (const char* n : {"gpt_neox.embed_in.weight", "embed_out.weight"})
    BOOST_TEST((std::find(neox.begin(), neox.end(), n) != neox.end()), n);
  const auto bert = io::embedding_tensor_names(nlohmann::json::parse(R"({"model_type": "bert"})"));
  for (const char* n : {"bert.embeddings.word_embeddings.weight", "bert.embeddings.position_embeddings.weight",
                        "bert.embeddings.token_type_embeddings.weight"})
    BOOST_TEST((std::find(bert.begin(), bert.end(), n) != bert.end()), n);
  // A config naming neither model_type nor architectures is GPT-2 (the original configs).
  BOOST_TEST(io::preset_for_config(nlohmann::json::parse(R"({"n_embd": 4})")).name == "gpt2");
  check_error([] { io::embedding_tensor_names(nlohmann::json::parse(R"({"model_type": 3})")); }, {"model_type"});
}

// tokenizer.json names the rows through the directory's own (shared) tokenizer when it loads the
// file, else through the file's JSON: the same names and errors either way.
BOOST_AUTO_TEST_CASE(tokenizer_json_names_the_rows_as_its_json_does) {
  TempDir tmp;
  int n = 0;
  const auto dir_with = [&](const std::string& text) {
    const std::string dir = tmp.file(fmt::format("t{}", n++));
    fs::create_directories(dir);
    write_file((fs::path(dir) / "tokenizer.json").string(), text);
    return dir;
  };
  const auto bpe = [](const std::string& vocab, const std::string& added) {
    return R"({"added_tokens": )" + added +
           R"(, "pre_tokenizer": {"type": "WhitespaceSplit"}, "model": {"type": "BPE", "ignore_merges": true,)"
           R"( "vocab": )" +
           vocab + R"(, "merges": []}})";
  };
  using V = std::vector<std::string>;
  // The tokenizer loads these: model ids, then the added tokens at the ids the file gives them (the
  // first name of an id kept; "<y>" where Hugging Face would put it at 3, the file says 5).
  const std::string loads = dir_with(
      bpe(R"({"<s>": 0, "b": 1, "a": 2})",
          R"([{"id": 0, "content": "<s>", "special": true}, {"id": 5, "content": "<y>"}, {"content": "<z>"}])"));
  BOOST_TEST(tok::Tokenizer::shared_from_dir(loads)->vocab_size() == 5);  // "<y>" 3, "<z>" 4
  BOOST_TEST(io::model_vocabulary(loads, 7) == (V{"<s>", "b", "a", "#3", "#4", "<y>", "#6"}));
  check_error([&] { io::model_vocabulary(loads, 5); },
              {"tokenizer.json", "token \"<y>\"", "id 5 is past the matrix (5 rows)"});
  // Past the matrix: the first such token in the JSON object's (sorted) key order is named.
  const std::string past = dir_with(bpe(R"({"c": 0, "b": 1, "z": 2, "a": 3, "y": 4})", "[]"));
  check_error([&] { io::model_vocabulary(past, 2); },
              {"tokenizer.json", "token \"a\"", "id 3 is past the matrix (2 rows)"});
  check_error([&] { io::model_vocabulary(past, 4); }, {"token \"y\"", "id 4 is past"});
  // The tokenizer refuses these, the JSON names their rows as before: ids with gaps, a Unigram
  // vocabulary, an added token with a negative id (skipped), an unsupported component.
  BOOST_TEST(io::model_vocabulary(dir_with(bpe(R"({"a": 0, "b": 3})", "[]")), 4) == (V{"a", "#1", "#2", "b"}));
  BOOST_TEST(io::model_vocabulary(dir_with(R"({"model": {"type": "Unigram", "vocab": [["a", -1.0], ["b", -2.0]]}})"),
                                  3) == (V{"a", "b", "#2"}));
  BOOST_TEST(io::model_vocabulary(dir_with(bpe(R"({"a": 0})", R"([{"id": -1, "content": "<x>"}])")), 2) ==
             (V{"a", "#1"}));
  BOOST_TEST(io::model_vocabulary(
                 dir_with(R"({"normalizer": {"type": "Precompiled"}, "model": {"type": "BPE", "vocab": {"a": 0}}})"),
                 1) == V{"a"});
  // A key given twice (the tokenizer keeps the last, as Hugging Face does) is refused here as before.
  const std::string twice = dir_with(bpe(R"({"b": 1, "a": 5, "a": 0})", "[]"));
  BOOST_TEST(tok::Tokenizer::shared_from_dir(twice)->repeated_json_keys());
  check_error([&] { io::model_vocabulary(twice, 3); }, {"tokenizer.json", "duplicate key 'a'"});
  const std::string twice_elsewhere =
      dir_with(R"({"decoder": null, "decoder": null, "model": {"type": "BPE", "vocab": {"a": 0}}})");
  BOOST_TEST(tok::Tokenizer::shared_from_dir(twice_elsewhere)->repeated_json_keys());
  check_error([&] { io::model_vocabulary(twice_elsewhere, 1); }, {"tokenizer.json", "duplicate key 'decoder'"});
  BOOST_TEST(!tok::Tokenizer::shared_from_dir(loads)->repeated_json_keys());
}

BOOST_AUTO_TEST_CASE(vocabulary_files_name_the_rows) {
  TempDir tmp;
  const std::vector<std::string> words = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "the", "cat", "sat", "##s"};
  for (const char* preset : {"bert", "llama", "gpt2"}) {
    SynthSpec s;
    s.preset = preset;
    s.vocab = 10;  // two rows the vocabulary does not name (a padded matrix)
    s.vocabulary = words;
    const SynthModel m = write_model(tmp.file(preset), s);
    const auto v = io::model_vocabulary(m.dir, 10);
    BOOST_TEST_CONTEXT(preset) {
      BOOST_REQUIRE(v.size() == 10u);
      for (std::size_t i = 0; i < words.size(); ++i) BOOST_TEST(v[i] == words[i]);
      BOOST_TEST(v[8] == "#8");
      BOOST_TEST(load(m.dir, "input").tokens == v);
      if (std::string(preset) != "llama") BOOST_TEST(load(m.dir, "position").tokens.empty());
    }
  }
  SynthSpec s;
  s.preset = "bert";
  s.vocab = 3;
  const SynthModel m = write_model(tmp.file("short"), s);
  {  // a vocabulary longer than the matrix (the writer refuses to write one)
    std::ofstream v(fs::path(m.dir) / "vocab.txt");
    for (const auto& w : words) v << w << "\n";
  }
  check_error([&] { io::model_vocabulary(m.dir, 3); }, {"vocab.txt", "line 4", "3 rows"});
}

// A model directory's words go through its own tokenizer (tokenizer.json of any style, BERT's
// vocab.txt + tokenizer_config.json), in the tokenizer's word-initial form: a word's row is the row of
// the id Hugging Face tokenizers gives it (tests/data/tokenizers/word_ids.json, computed by the oracle,
// never by our tokenizer). Synthetic checkpoints with as many rows as the tokenizer has ids.
BOOST_AUTO_TEST_CASE(model_directories_encode_words_with_their_own_tokenizer) {
  EMBEDLAB_FIXTURE(ids_path, "tokenizers/word_ids.json");
  EMBEDLAB_FIXTURE(llama2, "tokenizers/llama2-mini.tokenizer.json");
  EMBEDLAB_FIXTURE(qwen3, "tokenizers/qwen3-mini.tokenizer.json");
  EMBEDLAB_FIXTURE(bert_vocab, "bert-base-uncased/vocab.txt");
  const nlohmann::json oracle = nlohmann::json::parse(std::ifstream(ids_path));
  TempDir tmp;
  struct Case {
    std::string name, preset, style;
  };
  for (const Case& c :
       {Case{"llama2-mini", "llama", "SentencePiece"}, Case{"llama2-mini-metaspace", "mistral", "SentencePiece"},
        Case{"qwen3-mini", "qwen3", "byte-level"}, Case{"bert-base-uncased", "bert", "WordPiece"}}) {
    BOOST_TEST_CONTEXT(c.name) {
      const std::string dir = tmp.file(c.name);
      fs::create_directories(dir);
      std::uint64_t rows = 0;
      if (c.preset == "bert") {
        fs::copy_file(bert_vocab, fs::path(dir) / "vocab.txt");
        std::ofstream(fs::path(dir) / "tokenizer_config.json") << R"({"do_lower_case": true})";
        rows = 30522;
      } else {
        nlohmann::json j = nlohmann::json::parse(std::ifstream(c.name == "qwen3-mini" ? qwen3 : llama2));
        if (c.name == "llama2-mini-metaspace") {  // the Metaspace pre-tokenizer in place of Prepend + Replace
          j["normalizer"] = nullptr;
          j["pre_tokenizer"] = {
              {"type", "Metaspace"}, {"replacement", "\u2581"}, {"prepend_scheme", "always"}, {"split", false}};
        }
        rows = j["model"]["vocab"].size();
        std::ofstream(fs::path(dir) / "tokenizer.json") << j.dump();
      }
      SynthSpec s;
      s.preset = c.preset;
      s.vocab = rows;
      s.dim = 4;
      s.shards = 1;
      const SynthModel m = write_model(dir, s);
      BOOST_TEST(io::model_tokenizer_dir(dir).value_or("") == dir);
      const io::Embeddings e = load(dir, "input");
      const auto tok_dir = io::WordLookup::tokenizer_dir_for(e.source);
      BOOST_REQUIRE(tok_dir.value_or("") == dir);
      const io::WordLookup lookup(e.tokens, tok_dir);
      BOOST_REQUIRE(lookup.uses_tokenizer());
      const auto& want = oracle.at(c.name);
      std::vector<std::string> words;
      for (const auto& [w, _] : want.items()) words.push_back(w);
      io::LookupPolicy policy;
      policy.word.multi_token = io::WordPolicy::MultiToken::mean;
      const auto got = lookup.resolve(words, policy);
      const auto& in = m.tensors.at(m.input).values;
      std::size_t single = 0, multi = 0;
      for (std::size_t k = 0; k < words.size(); ++k) {
        BOOST_TEST_CONTEXT(words[k]) {
          const auto ids = want.at(words[k]).at("ids").get<std::vector<arma::uword>>();
          BOOST_TEST(got[k].columns == ids, boost::test_tools::per_element());
          BOOST_TEST(io::usable(got[k].status));
          (ids.size() == 1 ? single : multi) += 1;
          // the row used is the writer's row of the oracle's id, bit for bit
          for (std::size_t p = 0; p < std::min(ids.size(), got[k].columns.size()); ++p)
            BOOST_TEST(std::memcmp(e.vectors.colptr(got[k].columns[p]), &in[ids[p] * 4], 4 * sizeof(float)) == 0);
        }
      }
      BOOST_TEST(single >= 5u);
      BOOST_TEST(multi >= 2u);
      // multi_token = first / last / error and drop_multi_token on the oracle's pieces
      const std::string mw = c.preset == "bert" ? "embedding" : "xyzzy";
      const auto pieces = want.at(mw).at("ids").get<std::vector<arma::uword>>();
      policy.word.multi_token = io::WordPolicy::MultiToken::first;
      BOOST_TEST(lookup.resolve({mw}, policy)[0].columns == std::vector<arma::uword>{pieces.front()});
      policy.word.multi_token = io::WordPolicy::MultiToken::last;
      BOOST_TEST(lookup.resolve({mw}, policy)[0].columns == std::vector<arma::uword>{pieces.back()});
      policy.drop_multi_token = true;
      BOOST_TEST(std::string(io::to_string(lookup.resolve({mw}, policy)[0].status)) == "dropped_multi_token");
      policy.drop_multi_token = false;
      policy.word.multi_token = io::WordPolicy::MultiToken::error;
      check_error([&] { lookup.resolve({mw}, policy); }, {mw, fmt::format("is {} tokens", pieces.size())});
      // OOV: an empty word is skipped under oov = skip, an error under oov = error
      policy.word.oov = io::WordPolicy::Oov::skip;
      BOOST_TEST(std::string(io::to_string(lookup.resolve({""}, policy)[0].status)) == "skipped");
      policy.word.oov = io::WordPolicy::Oov::error;
      check_error([&] { lookup.resolve({""}, policy); }, {"empty word"});
      if (c.preset == "bert") {  // the oracle encodes "😀" as [UNK] (100): out of vocabulary, not row 100
        check_error([&] { lookup.resolve({"😀"}, policy); }, {"out of vocabulary", "[UNK]"});
        policy.word.oov = io::WordPolicy::Oov::skip;
        BOOST_TEST(lookup.resolve({"😀"}, policy)[0].columns.empty());
        BOOST_TEST(!io::usable(lookup.resolve({"😀"}, policy)[0].status));
      }

      // A tokenizer with more ids than the matrix has rows is not this matrix's: one line naming both.
      SynthSpec small = s;
      small.vocab = rows - 1;
      write_model(dir, small);
      check_error([&] { load(dir, "input"); },
                  {c.preset == "bert" ? "vocab.txt" : "tokenizer.json", fmt::format("{} rows", rows - 1)});
    }
  }
}

// Loading one matrix holds the float32 matrix plus one read buffer: peak growth <= 1.1x its bytes
// for a BF16 matrix (a converter that first read the file's bytes whole would need 1.5x).
BOOST_AUTO_TEST_CASE(peak_memory_of_one_matrix) {
  TempDir tmp;
  const std::uint64_t V = 16384, d = 1024;  // 64 MiB as float32, 32 MiB on disk
  const std::string dir = tmp.file("big");
  fs::create_directories(dir);
  write_file(
      (fs::path(dir) / "config.json").string(),
      fmt::format(R"({{"model_type": "llama", "vocab_size": {}, "hidden_size": {}, "tie_word_embeddings": true}})", V,
                  d));
  {
    std::string data(V * d * 2, '\0');
    std::uint64_t x = 1;
    for (std::size_t i = 0; i < data.size(); i += 2) {
      x = x * 6364136223846793005ull + 1442695040888963407ull;
      data[i] = static_cast<char>(x >> 56);
      data[i + 1] = static_cast<char>(0x3c + ((x >> 40) & 1));  // finite values near 0.01
    }
    const std::string header =
        st_header({st_entry("model.embed_tokens.weight", "BF16", fmt::format("[{},{}]", V, d), 0, data.size())});
    write_file((fs::path(dir) / "model-00001-of-00002.safetensors").string(), safetensors_bytes(header, data));
    write_file((fs::path(dir) / "model-00002-of-00002.safetensors").string(), "never opened");
    write_file((fs::path(dir) / "model.safetensors.index.json").string(),
               R"({"weight_map": {"model.embed_tokens.weight": "model-00001-of-00002.safetensors",
                                  "model.norm.weight": "model-00002-of-00002.safetensors"}})");
  }
  SynthSpec warm;
  warm.preset = "llama";
  warm.tie = true;
  const SynthModel small = write_model(tmp.file("small"), warm);
  int fds[2];
  BOOST_REQUIRE(::pipe(fds) == 0);
  const pid_t pid = ::fork();
  BOOST_REQUIRE(pid >= 0);
  if (pid == 0) {
    ::close(fds[0]);
    auto status = [](const char* key) {
      std::ifstream in("/proc/self/status");
      std::string line;
      while (std::getline(in, line))
        if (line.rfind(key, 0) == 0) return std::stod(line.substr(std::strlen(key)));  // kB
      return -1.0;
    };
    // The code of the load path is paged in first (its pages are not the matrix's memory).
    try {
      load(small.dir, "output");
    } catch (...) {
    }
    ::malloc_trim(0);
    std::ofstream("/proc/self/clear_refs") << "5";
    const double before = status("VmRSS:");
    double ratio = -1;
    try {
      const io::Embeddings e = load(dir, "output");
      ratio = (status("VmHWM:") - before) * 1024.0 / (double(e.vectors.n_elem) * sizeof(float));
    } catch (...) {
    }
    [[maybe_unused]] auto w = ::write(fds[1], &ratio, sizeof ratio);
    ::_exit(0);
  }
  ::close(fds[1]);
  double ratio = -2;
  BOOST_REQUIRE(::read(fds[0], &ratio, sizeof ratio) == static_cast<ssize_t>(sizeof ratio));
  ::close(fds[0]);
  int st = 0;
  ::waitpid(pid, &st, 0);
  BOOST_TEST_MESSAGE(fmt::format("peak / float32 matrix: {:.3f}", ratio));
  BOOST_TEST(ratio > 0.5);
  // ≤ 1.1× in the product; ASan's allocator metadata adds a few per cent on top.
  BOOST_TEST(ratio <= (kAddressSanitizer ? 1.2 : 1.1));
}

BOOST_AUTO_TEST_SUITE_END()
