#include <boost/test/unit_test.hpp>

#include "binary_writers.hpp"
#include "core/sha256.hpp"
#include "io/gpt2_checkpoint.hpp"
#include "io/readers.hpp"
#include "testing.hpp"

#include <filesystem>

using namespace embedlab;
using namespace embedlab::test;
namespace fs = std::filesystem;

namespace {

const char* kTinyConfig = R"({"model_type": "gpt2", "n_layer": 1, "n_head": 2, "n_embd": 4, "n_positions": 3,
  "vocab_size": 5, "n_inner": null, "tie_word_embeddings": true})";

// A synthetic checkpoint: every declared tensor (F32, value = index of the tensor), with `drop`
// left out, `extra` added as [1] tensors and `reshape` given the wrong shape [1].
void write_checkpoint(const TempDir& dir, const std::string& prefix, const std::vector<std::string>& drop = {},
                      const std::vector<std::string>& extra = {}, const std::string& reshape = "") {
  write_file(dir.file("config.json"), kTinyConfig);
  const io::Gpt2Config cfg = io::read_gpt2_config(dir.file("config.json"));
  std::string header = "{", data;
  float value = 0;
  auto add = [&](const std::string& name, std::vector<std::uint64_t> shape) {
    std::uint64_t n = 1;
    for (auto d : shape) n *= d;
    std::string sh = "[";
    for (std::size_t i = 0; i < shape.size(); ++i) sh += (i ? "," : "") + std::to_string(shape[i]);
    sh += "]";
    if (header.size() > 1) header += ",";
    header += st_entry(prefix + name, "F32", sh, data.size(), data.size() + 4 * n);
    data += bytes_of(std::vector<float>(n, value++));
  };
  for (const auto& [name, shape] : io::gpt2_expected_tensors(cfg)) {
    if (std::find(drop.begin(), drop.end(), name) != drop.end()) continue;
    add(name, name == reshape ? std::vector<std::uint64_t>{1} : shape);
  }
  for (const auto& name : extra) add(name, {1});
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
  write_checkpoint(dir, "transformer.", {}, {"h.0.attn.bias", "h.0.attn.masked_bias"});
  const io::Gpt2Checkpoint ck = io::load_gpt2(dir.path().string());
  BOOST_TEST(ck.tied);
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
  write_checkpoint(dir, "", {"wpe.weight", "h.0.mlp.c_fc.bias"}, {"h.0.attn.rotary"}, "ln_f.bias");
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

BOOST_AUTO_TEST_SUITE_END()
