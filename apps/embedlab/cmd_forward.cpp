// embedlab forward --model DIR (--ids 1,2,3 | --text "...") [--generate N] [--top K] [--tokenizer DIR] [--json]
#include "apps/embedlab/commands.hpp"
#include "apps/embedlab/word_terms.hpp"
#include "core/error.hpp"
#include "io/gpt2_checkpoint.hpp"
#include "model/gpt2.hpp"
#include "tokenizer/tokenizer.hpp"

#include <fmt/format.h>
#include <boost/program_options.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <iostream>
#include <numeric>
#include <optional>
#include <string>
#include <vector>

namespace embedlab::cli {

namespace {

std::vector<int> parse_ids(const std::string& s) {
  std::vector<int> ids;
  std::size_t start = 0;
  while (start <= s.size()) {
    const std::size_t end = std::min(s.find(',', start), s.size());
    std::string item = s.substr(start, end - start);
    item.erase(0, item.find_first_not_of(' '));
    item.erase(item.find_last_not_of(' ') + 1);
    int v = 0;
    const auto [p, ec] = std::from_chars(item.data(), item.data() + item.size(), v);
    if (item.empty() || ec != std::errc() || p != item.data() + item.size())
      fail(Exit::usage, "--ids", fmt::format("item {}", ids.size()),
           fmt::format("not an integer token id (got '{}', expected e.g. --ids 464,3797,3332)", item));
    ids.push_back(v);
    start = end + 1;
  }
  return ids;
}

// The k largest logits of column t, ties → lowest id.
std::vector<int> top_ids(const arma::fmat& z, arma::uword t, arma::uword k) {
  std::vector<int> idx(z.n_rows);
  std::iota(idx.begin(), idx.end(), 0);
  const float* v = z.colptr(t);
  k = std::min<arma::uword>(k, z.n_rows);
  std::partial_sort(idx.begin(), idx.begin() + static_cast<std::ptrdiff_t>(k), idx.end(),
                    [&](int a, int b) { return v[a] > v[b] || (v[a] == v[b] && a < b); });
  idx.resize(k);
  return idx;
}

// Shortest round-trip text of a float; JSON has no NaN/Inf, so those become null.
std::string num(float x) { return std::isfinite(x) ? fmt::format("{}", x) : std::string("null"); }

std::string json_text(const std::string& s) {
  return nlohmann::json(s).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace

int cmd_forward(int argc, char** argv) {
  namespace po = boost::program_options;
  po::options_description opts("options");
  opts.add_options()("help,h", "show this help")("model", po::value<std::string>(),
                                                 "GPT-2 checkpoint directory (config.json + model.safetensors)")(
      "ids", po::value<std::string>(), "comma-separated token ids, e.g. 464,3797,3332")(
      "text", po::value<std::string>(), "text to encode with the GPT-2 tokenizer")(
      "generate", po::value<int>()->default_value(0), "greedy continuation of N tokens (KV cache)")(
      "top", po::value<int>()->default_value(10), "top-K next tokens shown per position")(
      "tokenizer", po::value<std::string>(),
      "tokenizer directory (default: the model directory, else gpt2-tokenizer/ or gpt2/ beside it or its "
      "parents, else data/gpt2 or ../data/gpt2)")(
      "json", "print {ids, last_hidden, last_logits, top10_ids_per_pos, greedy} as JSON");
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(argc, argv).options(opts).run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    throw Error(Exit::usage, fmt::format("forward: {} (see embedlab forward --help)", e.what()));
  }
  if (vm.count("help")) {
    std::cout << "usage: embedlab forward --model DIR (--ids 1,2,3 | --text \"...\") [--generate N] [--top K] "
                 "[--json]\nGPT-2 forward pass: top-K next tokens per position, the final hidden state (after "
                 "ln_f) and a greedy continuation.\n\n"
              << opts;
    return 0;
  }
  if (!vm.count("model")) throw Error(Exit::usage, "forward: missing --model DIR (see embedlab forward --help)");
  if (vm.count("ids") == vm.count("text"))
    throw Error(Exit::usage, "forward: give exactly one of --ids and --text (see embedlab forward --help)");
  const int n_gen = vm["generate"].as<int>();
  const int top_k = vm["top"].as<int>();
  if (n_gen < 0) fail(Exit::usage, "forward", "--generate", fmt::format("must be ≥ 0 (got {})", n_gen));
  if (top_k < 1) fail(Exit::usage, "forward", "--top", fmt::format("must be ≥ 1 (got {})", top_k));
  const std::string model_dir = vm["model"].as<std::string>();

  auto tok = find_tokenizer(vm.count("tokenizer") ? vm["tokenizer"].as<std::string>() : "", model_dir);
  std::vector<int> ids;
  if (vm.count("text")) {
    if (!tok)
      fail(Exit::no_input, model_dir, "--text",
           "no GPT-2 tokenizer found (looked in the model directory, in gpt2-tokenizer/ and gpt2/ beside it and "
           "its parents, and in data/gpt2 and ../data/gpt2) [hint: pass --tokenizer DIR, run `embedlab fetch "
           "gpt2-tokenizer`, or use --ids]");
    ids = tok->encode_gpt2(vm["text"].as<std::string>());
  } else {
    ids = parse_ids(vm["ids"].as<std::string>());
  }

  const auto ckpt = io::load_gpt2(model_dir);
  const model::Gpt2 gpt(ckpt);
  if (tok && tok->vocab_size() != gpt.vocab_size()) {
    // a tokenizer found by looking around is dropped (ids only); one asked for is an error
    if (vm.count("text") || vm.count("tokenizer"))
      fail(Exit::data, model_dir, "tokenizer",
           fmt::format("vocabulary size differs from the model's (got {}, expected {})", tok->vocab_size(),
                       gpt.vocab_size()));
    tok.reset();
  }
  const auto r = gpt.forward(ids);
  const std::vector<int> greedy = gpt.generate_greedy(ids, n_gen);
  const auto T = static_cast<arma::uword>(ids.size());
  // "id" or "id piece" (the token's bytes as a JSON string)
  const auto label = [&](int id) {
    return tok ? fmt::format("{} {}", id, json_text(tok->token_bytes(id))) : fmt::format("{}", id);
  };

  if (vm.count("json")) {
    std::string out = fmt::format("{{\"ids\": [{}], \"last_hidden\": [", fmt::join(ids, ", "));
    for (arma::uword t = 0; t < T; ++t) {
      out += t ? ", [" : "[";
      for (arma::uword i = 0; i < r.final_hidden.n_rows; ++i) out += (i ? ", " : "") + num(r.final_hidden(i, t));
      out += "]";
    }
    out += "], \"last_logits\": [";
    for (arma::uword v = 0; v < r.logits.n_rows; ++v) out += (v ? ", " : "") + num(r.logits(v, T - 1));
    out += "], \"top10_ids_per_pos\": [";
    for (arma::uword t = 0; t < T; ++t)
      out += fmt::format("{}[{}]", t ? ", " : "", fmt::join(top_ids(r.logits, t, 10), ", "));
    out += fmt::format("], \"greedy\": [{}]}}\n", fmt::join(greedy, ", "));
    fmt::print("{}", out);
    return 0;
  }

  const auto& cfg = gpt.config();
  fmt::print("model: {} ({} layers, {} heads, n_embd {}, vocab {}, n_positions {}, {})\n", model_dir, cfg.n_layer,
             cfg.n_head, cfg.n_embd, cfg.vocab_size, cfg.n_positions, ckpt.tied ? "tied lm_head" : "own lm_head");
  fmt::print("ids ({}): {}\n", T, fmt::join(ids, " "));
  if (!tok) fmt::print("(no tokenizer found: ids only)\n");
  fmt::print("\ntop-{} next tokens per position (id{} logit):\n", top_k, tok ? " piece" : "");
  for (arma::uword t = 0; t < T; ++t) {
    fmt::print("  [{}] {} →", t, label(ids[t]));
    for (int id : top_ids(r.logits, t, static_cast<arma::uword>(top_k)))
      fmt::print("  {} {:.4f}", label(id), r.logits(static_cast<arma::uword>(id), t));
    fmt::print("\n");
  }
  fmt::print("\nfinal hidden state after ln_f ({}×{}; per position: norm, first values):\n", r.final_hidden.n_rows, T);
  const arma::uword show = std::min<arma::uword>(6, r.final_hidden.n_rows);
  for (arma::uword t = 0; t < T; ++t) {
    std::string head;
    for (arma::uword i = 0; i < show; ++i) head += fmt::format(" {:+.5f}", r.final_hidden(i, t));
    fmt::print("  [{}] |h| = {:.5f} {} ...\n", t, arma::norm(arma::conv_to<arma::vec>::from(r.final_hidden.col(t))),
               head);
  }
  if (n_gen > 0) {
    fmt::print("\ngreedy continuation ({} tokens): {}\n", n_gen, fmt::join(greedy, " "));
    if (tok) fmt::print("text: {}\n", json_text(tok->decode(ids) + tok->decode(greedy)));
  }
  return 0;
}

}  // namespace embedlab::cli
