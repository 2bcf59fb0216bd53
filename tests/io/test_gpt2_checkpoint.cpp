#include <boost/test/unit_test.hpp>

#include "binary_writers.hpp"
#include "core/sha256.hpp"
#include "fuzz/fuzz_gpt2_config.hpp"
#include "io/gpt2_checkpoint.hpp"
#include "io/readers.hpp"
#include "testing.hpp"

#include <cstdlib>
#include <filesystem>
#include <functional>
#include <limits>

using namespace embedlab;
using namespace embedlab::test;
namespace fs = std::filesystem;

namespace {

const char* kTinyConfig = R"({"model_type": "gpt2", "n_layer": 1, "n_head": 2, "n_embd": 4, "n_positions": 3,
  "vocab_size": 5, "n_inner": null, "tie_word_embeddings": true})";

using Shape = std::vector<std::uint64_t>;
using Mutate = std::function<void(const std::string& name, std::vector<float>& values)>;

// A synthetic checkpoint: every declared tensor (F32, value = index of the tensor), with `drop`
// left out, `extra` added with their shapes, `reshape` given the wrong shape [1] and `mutate` applied
// to every tensor's values.
void write_checkpoint(const TempDir& dir, const std::string& prefix, const std::vector<std::string>& drop = {},
                      const std::vector<std::pair<std::string, Shape>>& extra = {}, const std::string& reshape = "",
                      const Mutate& mutate = {}) {
  write_file(dir.file("config.json"), kTinyConfig);
  const io::Gpt2Config cfg = io::read_gpt2_config(dir.file("config.json"));
  std::string header = "{", data;
  float value = 0;
  auto add = [&](const std::string& name, Shape shape) {
    std::uint64_t n = 1;
    for (auto d : shape) n *= d;
    std::string sh = "[";
    for (std::size_t i = 0; i < shape.size(); ++i) {
      if (i) sh += ",";
      sh += std::to_string(shape[i]);
    }
    sh += "]";
    if (header.size() > 1) header += ",";
    header += st_entry(prefix + name, "F32", sh, data.size(), data.size() + 4 * n);
    std::vector<float> values(n, value++);
    if (mutate) mutate(name, values);
    data += bytes_of(values);
  };
  for (const auto& [name, shape] : io::gpt2_expected_tensors(cfg)) {
    if (std::find(drop.begin(), drop.end(), name) != drop.end()) continue;
    add(name, name == reshape ? Shape{1} : shape);
  }
  for (const auto& [name, shape] : extra) add(name, shape);
  write_file(dir.file("model.safetensors"), safetensors_bytes(header + "}", data));
}

io::LoadOptions opts(const std::string& path, const std::string& format = "auto", const std::string& tensor = "") {
  io::LoadOptions o;
  o.path = path;
  o.format = format;
  o.tensor = tensor;
  return o;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(gpt2_checkpoint)

BOOST_AUTO_TEST_CASE(micro_gpt2_loads_tied) {
  EMBEDLAB_FIXTURE(dir, "gpt2-golden/micro-gpt2");
  const io::Gpt2Checkpoint ck = io::load_gpt2(dir);
  BOOST_TEST(ck.config.n_layer == 3);
  BOOST_TEST(ck.config.n_embd == 48);
  BOOST_TEST(ck.config.n_inner == 4 * 48);
  BOOST_TEST(ck.config.vocab_size == 512);
  BOOST_TEST(ck.tied);
  BOOST_TEST(ck.tensors.size() == 2 + 12 * 3 + 2u);
  BOOST_TEST(ck.wte().n_rows == 48u);  // C × V: column = token
  BOOST_TEST(ck.wte().n_cols == 512u);
  BOOST_TEST(ck.get("h.0.attn.c_attn.weight").n_rows == 144u);  // [C, 3C] → 3C × C
  BOOST_TEST(ck.get("h.0.attn.c_attn.weight").n_cols == 48u);
  BOOST_TEST(ck.get("ln_f.bias").n_cols == 1u);
  BOOST_TEST(&ck.output() == &ck.wte());
  BOOST_TEST(ck.sources.size() == 2u);
  BOOST_TEST(ck.sources[0].sha256 == sha256_file(dir + "/config.json"));
  BOOST_TEST(ck.sources[1].sha256 == sha256_file(dir + "/model.safetensors"));
  BOOST_TEST(ck.sources[1].dtype == "F32");
  check_error([&] { ck.get("lm_head.weight"); }, "tensor 'lm_head.weight': not loaded");
}

// The file digest the provenance records (hashed on a second thread from the bytes read) against
// `sha256sum` of the fixture as recorded in tests/data/README.md: an independent hash.
BOOST_AUTO_TEST_CASE(provenance_sha256_is_sha256sum_of_the_file) {
  EMBEDLAB_FIXTURE(dir, "gpt2-golden/tiny-gpt2");
  const io::Gpt2Checkpoint ck = io::load_gpt2(dir);
  BOOST_TEST(ck.sources[1].sha256 == "812e0c6163829d8688b905f454f5d0f4a766c12a253f8079d74d7a31111fad40");
  const io::Gpt2Checkpoint part = io::load_gpt2(dir, {"wpe.weight"});  // unwanted tensors hashed too
  BOOST_TEST(part.sources[1].sha256 == ck.sources[1].sha256);
}

// With EMBEDLAB_HASH_CACHE the first load hashes and stores the digest; a second load of the unchanged
// file takes it from the cache (recorded as cached) and reads only the wanted tensors, bit-identical.
// A copy of the file (another inode) is hashed afresh.
BOOST_AUTO_TEST_CASE(hash_cache_serves_an_unchanged_checkpoint) {
  EMBEDLAB_FIXTURE(fixture_dir, "gpt2-golden/tiny-gpt2");
  test::TempDir tmp;
  const char* before = std::getenv("EMBEDLAB_HASH_CACHE");
  const std::string saved = before ? before : "";
  ::setenv("EMBEDLAB_HASH_CACHE", tmp.file("cache").c_str(), 1);
  const std::string sum = "812e0c6163829d8688b905f454f5d0f4a766c12a253f8079d74d7a31111fad40";
  const io::Gpt2Checkpoint first = io::load_gpt2(fixture_dir);
  const io::Gpt2Checkpoint second = io::load_gpt2(fixture_dir);
  const io::Gpt2Checkpoint part = io::load_gpt2(fixture_dir, {"wpe.weight"});
  fs::copy(fixture_dir, tmp.file("copy"), fs::copy_options::recursive);
  const io::Gpt2Checkpoint copy = io::load_gpt2(tmp.file("copy"));
  if (before)
    ::setenv("EMBEDLAB_HASH_CACHE", saved.c_str(), 1);
  else
    ::unsetenv("EMBEDLAB_HASH_CACHE");
  BOOST_TEST(first.sources[1].sha256 == sum);
  BOOST_TEST(second.sources[1].sha256 == sum);
  BOOST_TEST(part.sources[1].sha256 == sum);
  BOOST_TEST(copy.sources[1].sha256 == sum);
  BOOST_TEST(!first.sources[1].sha256_cached);
  BOOST_TEST(second.sources[1].sha256_cached);
  BOOST_TEST(part.sources[1].sha256_cached);
  BOOST_TEST(!copy.sources[1].sha256_cached);
  BOOST_TEST(second.tensors.size() == first.tensors.size());
  for (const auto& [name, t] : first.tensors)
    BOOST_TEST(arma::approx_equal(second.get(name), t, "absdiff", 0.0f), name);
  BOOST_TEST(arma::approx_equal(part.get("wpe.weight"), first.get("wpe.weight"), "absdiff", 0.0f));
}

BOOST_AUTO_TEST_CASE(both_key_layouts_give_identical_weights) {
  EMBEDLAB_FIXTURE(a_dir, "gpt2-golden/micro-gpt2");
  EMBEDLAB_FIXTURE(b_dir, "gpt2-golden/micro-gpt2-hub-layout");
  const io::Gpt2Checkpoint a = io::load_gpt2(a_dir), b = io::load_gpt2(b_dir);
  BOOST_TEST(a.tensors.size() == b.tensors.size());
  for (const auto& [name, m] : a.tensors) {
    BOOST_TEST_CONTEXT(name) { BOOST_TEST(arma::approx_equal(m, b.get(name), "absdiff", 0.0f)); }
  }
  const io::Embeddings ea = io::gpt2_embeddings(a), eb = io::gpt2_embeddings(b);
  BOOST_TEST(arma::approx_equal(ea.vectors, eb.vectors, "absdiff", 0.0f));
  BOOST_TEST(ea.tokens.empty());
  BOOST_TEST(ea.source.format == "gpt2");
  BOOST_TEST((ea.source.shape == std::vector<std::uint64_t>{512, 48}));
}

BOOST_AUTO_TEST_CASE(micro_gpt2_untied_has_its_own_lm_head) {
  EMBEDLAB_FIXTURE(dir, "gpt2-golden/micro-gpt2-untied");
  const io::Gpt2Checkpoint ck = io::load_gpt2(dir);
  BOOST_TEST(!ck.tied);
  BOOST_TEST(!ck.config.tie_word_embeddings);
  BOOST_TEST(ck.output().n_rows == 48u);
  BOOST_TEST(ck.output().n_cols == 512u);
  BOOST_TEST(!arma::approx_equal(ck.output(), ck.wte(), "absdiff", 0.0f));
  const io::Embeddings head = io::gpt2_embeddings(ck, "lm_head");
  BOOST_TEST(arma::approx_equal(head.vectors, ck.output(), "absdiff", 0.0f));
}

BOOST_AUTO_TEST_CASE(tiny_gpt2_loads_with_tokenizer) {
  EMBEDLAB_FIXTURE(dir, "gpt2-golden/tiny-gpt2");
  EMBEDLAB_FIXTURE(encoder, "gpt2-tokenizer/encoder.json");
  const io::Gpt2Checkpoint ck = io::load_gpt2(dir);
  BOOST_TEST(ck.config.vocab_size == 50257);
  BOOST_TEST(ck.wte().n_cols == 50257u);
  BOOST_TEST(ck.wte().n_rows == 64u);
  BOOST_TEST(io::gpt2_embeddings(ck).tokens.empty());
  // The same checkpoint with encoder.json next to it: tokens come from the tokenizer.
  TempDir tmp;
  for (const char* f : {"config.json", "model.safetensors"}) fs::create_symlink(fs::path(dir) / f, tmp.path() / f);
  fs::create_symlink(encoder, tmp.path() / "encoder.json");
  const io::Embeddings e = io::load_embeddings(opts(tmp.path().string()));
  BOOST_TEST(e.rows() == 50257u);
  BOOST_TEST(e.tokens.size() == 50257u);
  BOOST_TEST(e.token_name(0) == "!");
  BOOST_TEST(e.token_name(50256) == "<|endoftext|>");
  BOOST_TEST(arma::approx_equal(e.vectors, ck.wte(), "absdiff", 0.0f));
  const io::Embeddings wpe = io::load_embeddings(opts(tmp.path().string(), "gpt2", "wpe"));
  BOOST_TEST(wpe.rows() == 128u);
  BOOST_TEST(wpe.tokens.empty());
}

BOOST_AUTO_TEST_CASE(load_embeddings_dispatches_by_name) {
  EMBEDLAB_FIXTURE(st, "gpt2-wpe/gpt2-wpe-lnf.safetensors");
  EMBEDLAB_FIXTURE(npy, "gpt2-wpe/wpe.npy");
  const io::Embeddings a = io::load_embeddings(opts(st)), b = io::load_embeddings(opts(npy));
  BOOST_TEST(a.source.format == "safetensors");
  BOOST_TEST(b.source.format == "npy");
  BOOST_TEST(arma::approx_equal(a.vectors, b.vectors, "absdiff", 0.0f));
  io::LoadOptions limited = opts(npy);
  limited.limit = 10;
  BOOST_TEST(io::load_embeddings(limited).rows() == 10u);
  check_error([&] { io::load_embeddings(opts(st + ".nope")); }, "no such file", Exit::no_input);
  check_error([&] { io::load_embeddings(opts(st, "bogus")); }, "'bogus' is not one of", Exit::usage);
}

BOOST_AUTO_TEST_CASE(synthetic_checkpoint_with_prefix_and_buffers) {
  TempDir dir;
  write_checkpoint(dir, "transformer.", {}, {{"h.0.attn.bias", {1, 1, 3, 3}}, {"h.0.attn.masked_bias", {}}});
  const io::Gpt2Checkpoint ck = io::load_gpt2(dir.path().string());
  BOOST_TEST(ck.tied);
  BOOST_TEST(ck.buffers_ignored == 2);
  BOOST_TEST(ck.wte().n_rows == 4u);
  BOOST_TEST(ck.wte().n_cols == 5u);
  BOOST_TEST(ck.get("wpe.weight")(0, 0) == 1.0f);
  BOOST_TEST(ck.tensors.count("h.0.attn.bias") == 0u);
  const io::Gpt2Checkpoint only = io::load_gpt2(dir.path().string(), {"wpe.weight"});
  BOOST_TEST(only.tensors.size() == 1u);
  BOOST_TEST(only.sources[1].sha256 == ck.sources[1].sha256);  // the whole file is hashed either way
}

BOOST_AUTO_TEST_CASE(bad_checkpoint_lists_all_problems_at_once) {
  TempDir dir;
  write_checkpoint(dir, "", {"wpe.weight", "h.0.mlp.c_fc.bias"}, {{"h.0.attn.rotary", {1}}}, "ln_f.bias");
  check_error([&] { io::load_gpt2(dir.path().string()); },
              "tensors: do not match config.json (n_layer 1, n_embd 4, vocab_size 5, n_positions 3): missing 2: "
              "wpe.weight, h.0.mlp.c_fc.bias; unexpected 1: h.0.attn.rotary; 'ln_f.bias' shape [1] (expected [4])");
}

BOOST_AUTO_TEST_CASE(bad_untied_config_without_lm_head) {
  TempDir dir;
  write_checkpoint(dir, "");
  std::string cfg = kTinyConfig;
  cfg.replace(cfg.find("true"), 4, "false");
  write_file(dir.file("config.json"), cfg);
  check_error([&] { io::load_gpt2(dir.path().string()); }, "missing 1: lm_head.weight");
}

BOOST_AUTO_TEST_CASE(bad_config_json) {
  TempDir dir;
  const std::string p = dir.file("config.json");
  write_file(p, R"({"n_layer": 1, "n_head": 2, "n_positions": 3, "vocab_size": 5})");
  check_error([&] { io::read_gpt2_config(p); }, "n_embd: missing");
  write_file(p, R"({"n_layer": 1, "n_head": 3, "n_embd": 4, "n_positions": 3, "vocab_size": 5})");
  check_error([&] { io::read_gpt2_config(p); }, "not divisible by n_head 3");
  write_file(p, R"({"n_layer": 1, "n_layer": 2, "n_head": 2, "n_embd": 4, "n_positions": 3, "vocab_size": 5})");
  check_error([&] { io::read_gpt2_config(p); }, "duplicate key 'n_layer'");
  write_file(p, R"({"n_layer": -1, "n_head": 2, "n_embd": 4, "n_positions": 3, "vocab_size": 5})");
  check_error([&] { io::read_gpt2_config(p); }, "n_layer: must be a positive integer");
  write_file(p, R"({"model_type": "llama", "n_layer": 1})");
  check_error([&] { io::read_gpt2_config(p); }, "model_type");
  check_error([&] { io::load_gpt2(dir.file("nope")); }, "not a directory", Exit::no_input);
  check_error([&] { io::load_gpt2(dir.path().string()); }, "missing model.safetensors", Exit::no_input);
}

// The causal-mask buffers are accepted only where a Hugging Face GPT-2 has them: a layer of the model
// and the shape [1, 1, n_positions, n_positions] ([] or [1] for masked_bias).
BOOST_AUTO_TEST_CASE(bad_mask_buffers) {
  TempDir dir;
  write_checkpoint(dir, "", {}, {{"h.0.attn.bias", {1, 1, 4, 4}}, {"h.1.attn.bias", {1, 1, 3, 3}}});
  check_error([&] { io::load_gpt2(dir.path().string()); },
              {"unexpected 1: h.1.attn.bias", "'h.0.attn.bias' shape [1, 1, 4, 4] (expected [1, 1, 3, 3]"});
  write_checkpoint(dir, "", {}, {{"h.0.attn.masked_bias", {2}}});
  check_error([&] { io::load_gpt2(dir.path().string()); }, "'h.0.attn.masked_bias' shape [2] (expected []");
}

// NaN or Inf in any loaded weight is a load error naming the tensor and the first bad index.
BOOST_AUTO_TEST_CASE(bad_non_finite_weights) {
  TempDir dir;
  const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
  write_checkpoint(dir, "", {}, {}, "", [&](const std::string& name, std::vector<float>& v) {
    if (name == "h.0.mlp.c_fc.weight") v[9] = nan, v[20] = -inf;  // [4, 16]: [0, 9] and [1, 4]
    if (name == "ln_f.bias") v[3] = inf;
  });
  check_error([&] { io::load_gpt2(dir.path().string()); },
              {"model.safetensors: tensor 'h.0.mlp.c_fc.weight': 2 non-finite values (first at [0, 9]: nan) (1 more "
               "tensors hold non-finite values)"});
  write_checkpoint(dir, "transformer.", {}, {}, "", [&](const std::string& name, std::vector<float>& v) {
    if (name == "ln_f.bias") v[3] = inf;
  });
  check_error([&] { io::load_gpt2(dir.path().string()); },
              "tensor 'transformer.ln_f.bias': 1 non-finite value (first at [3]: inf)");
  // Only the tensors kept are read as numbers: wte alone is finite here.
  BOOST_TEST(io::load_gpt2(dir.path().string(), {"wte.weight"}).tensors.size() == 1u);
}

// Tying as Hugging Face: tie_word_embeddings true (the default) → the output matrix is wte even with
// an lm_head.weight in the file (shape still checked, not loaded); false → lm_head.weight is used.
BOOST_AUTO_TEST_CASE(tying_follows_the_config) {
  TempDir dir;
  write_checkpoint(dir, "", {}, {{"lm_head.weight", {5, 4}}});
  io::Gpt2Checkpoint ck = io::load_gpt2(dir.path().string());
  BOOST_TEST(ck.tied);
  BOOST_TEST(ck.lm_head_in_file);
  BOOST_TEST(&ck.output() == &ck.wte());
  BOOST_TEST(ck.tensors.count("lm_head.weight") == 0u);
  BOOST_TEST(ck.output_source() == "wte.weight (tie_word_embeddings true: the file's lm_head.weight is not used)");
  BOOST_TEST(arma::approx_equal(io::gpt2_embeddings(ck, "lm_head").vectors, ck.wte(), "absdiff", 0.0f));
  std::string cfg = kTinyConfig;
  cfg.replace(cfg.find("true"), 4, "false");
  write_file(dir.file("config.json"), cfg);
  ck = io::load_gpt2(dir.path().string());
  BOOST_TEST(!ck.tied);
  BOOST_TEST(ck.output()(0, 0) != ck.wte()(0, 0));  // lm_head.weight holds its own values
  BOOST_TEST(ck.output().n_cols == 5u);
  BOOST_TEST(ck.output_source() == "lm_head.weight (tie_word_embeddings false)");
  // A tied model's lm_head.weight of the wrong shape is refused, as Hugging Face refuses it.
  write_checkpoint(dir, "", {}, {{"lm_head.weight", {4, 5}}});
  check_error([&] { io::load_gpt2(dir.path().string()); }, "'lm_head.weight' shape [4, 5] (expected [5, 4])");
}

// The seeds of the config.json fuzz target (tests/fuzz/corpus/gpt2_config/, from
// scripts/gen_fuzz_corpus.py) through the target's own per-input code: each parses or fails with
// embedlab::Error, never anything else.
BOOST_AUTO_TEST_CASE(fuzz_corpus_gpt2_config_replays) {
  std::size_t n = 0, parsed = 0;
  for (const char* kind : {"corpus", "regressions"}) {
    const fs::path d = fs::path(EMBEDLAB_SOURCE_DIR) / "tests" / "fuzz" / kind / "gpt2_config";
    if (!fs::is_directory(d)) continue;
    for (const auto& e : fs::directory_iterator(d)) {
      const std::string text = read_file(e.path().string());
      ++n;
      BOOST_CHECK_NO_THROW(fuzz::gpt2_config_input(text));
      try {
        io::parse_gpt2_config(text, "config.json");
        ++parsed;
      } catch (const Error&) {
      }
    }
  }
  BOOST_TEST(n >= 20u);
  BOOST_TEST(parsed >= 5u);       // the valid seeds
  BOOST_TEST(n - parsed >= 10u);  // the bad ones
}

// The maths keys of config.json: defaults as Hugging Face's GPT2Config, wrong types and unknown values
// named by key (exit 65).
BOOST_AUTO_TEST_CASE(config_maths_keys) {
  const std::string base = R"({"n_layer": 1, "n_head": 2, "n_embd": 4, "n_positions": 3, "vocab_size": 5)";
  const auto parse = [&](const std::string& more) { return io::parse_gpt2_config(base + more + "}", "config.json"); };
  const io::Gpt2Config d = parse("");
  BOOST_TEST(d.scale_attn_weights);
  BOOST_TEST(!d.scale_attn_by_inverse_layer_idx);
  BOOST_TEST(!d.reorder_and_upcast_attn);
  BOOST_TEST(d.tie_word_embeddings);
  BOOST_TEST(d.n_inner == 16);
  BOOST_TEST(d.layer_norm_epsilon == 1e-5);
  BOOST_TEST((d.act == io::Activation::gelu_tanh));
  BOOST_TEST(parse(R"(, "n_inner": null)").n_inner == 16);
  BOOST_TEST(parse(R"(, "n_inner": 7)").n_inner == 7);
  BOOST_TEST(parse(R"(, "layer_norm_epsilon": 0.25)").layer_norm_epsilon == 0.25);
  const auto c = parse(
      R"(, "scale_attn_weights": false, "scale_attn_by_inverse_layer_idx": true, "reorder_and_upcast_attn": true,
      "tie_word_embeddings": false)");
  BOOST_TEST(!c.scale_attn_weights);
  BOOST_TEST(c.scale_attn_by_inverse_layer_idx);
  BOOST_TEST(c.reorder_and_upcast_attn);
  BOOST_TEST(!c.tie_word_embeddings);
  const std::vector<std::pair<std::string, io::Activation>> acts = {
      {"gelu_new", io::Activation::gelu_tanh}, {"gelu_pytorch_tanh", io::Activation::gelu_tanh},
      {"gelu", io::Activation::gelu_erf},      {"gelu_python", io::Activation::gelu_erf},
      {"relu", io::Activation::relu},          {"silu", io::Activation::silu},
      {"swish", io::Activation::silu}};
  for (const auto& [name, act] : acts) {
    const auto a = parse(R"(, "activation_function": ")" + name + "\"");
    BOOST_TEST((a.act == act), name);
    BOOST_TEST(a.activation == name);
  }
  check_error([&] { parse(R"(, "activation_function": "foo")"); },
              "config.json: activation_function: unsupported (got \"foo\", expected one of gelu_new, gelu, "
              "gelu_pytorch_tanh, relu, silu, swish, gelu_python)");
  check_error([&] { parse(R"(, "activation_function": 3)"); }, "activation_function: unsupported (got 3,");
  check_error([&] { parse(R"(, "activation_function": "GELU")"); }, "unsupported (got \"GELU\"");
  for (const char* key :
       {"scale_attn_weights", "scale_attn_by_inverse_layer_idx", "reorder_and_upcast_attn", "tie_word_embeddings"}) {
    check_error([&] { parse(fmt::format(R"(, "{}": "true")", key)); },
                fmt::format("config.json: {}: must be true or false (got \"true\")", key));
    check_error([&] { parse(fmt::format(R"(, "{}": null)", key)); }, fmt::format("{}: must be true or false", key));
  }
  check_error([&] { parse(R"(, "n_inner": 0)"); }, "n_inner: must be a positive integer (got 0)");
  check_error([&] { parse(R"(, "n_inner": 2.5)"); }, "n_inner: must be a positive integer (got 2.5)");
  check_error([&] { parse(R"(, "layer_norm_epsilon": 0)"); }, "layer_norm_epsilon: must be a positive finite number");
  check_error([&] { parse(R"(, "layer_norm_epsilon": "1e-5")"); }, "layer_norm_epsilon: must be a positive");
}

BOOST_AUTO_TEST_SUITE_END()
