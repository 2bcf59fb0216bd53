// embedlab hidden --model DIR [--tokenizer DIR] (--text "..." | --corpus FILE [--format text|ids])
//                 [--layers all|0,6,12] [--truncate] --out F.h5
// The hidden states of every token at the chosen layers, for a notebook: /hidden [tokens, layers, C]
// float32, /token_ids, /sentence, /position, /layers (int64 layer indices, 0 = wte + wpe, l = after
// block l) and /final [tokens, C] (after ln_f).
#include "apps/embedlab/commands.hpp"
#include "apps/embedlab/word_terms.hpp"
#include "core/error.hpp"
#include "io/corpus.hpp"
#include "io/gpt2_checkpoint.hpp"
#include "io/h5_results.hpp"
#include "model/corpus_states.hpp"
#include "model/gpt2.hpp"

#include <fmt/format.h>
#include <boost/program_options.hpp>

#include <charconv>
#include <iostream>
#include <string>
#include <vector>

namespace embedlab::cli {

namespace {

std::vector<int> parse_layers(const std::string& s, int n_layer) {
  std::vector<int> out;
  if (s == "all") {
    for (int l = 0; l <= n_layer; ++l) out.push_back(l);
    return out;
  }
  std::size_t start = 0;
  while (start <= s.size()) {
    const std::size_t end = std::min(s.find(',', start), s.size());
    const std::string item = s.substr(start, end - start);
    int v = 0;
    const auto [p, ec] = std::from_chars(item.data(), item.data() + item.size(), v);
    if (item.empty() || ec != std::errc() || p != item.data() + item.size() || v < 0 || v > n_layer)
      fail(Exit::usage, "hidden", "--layers",
           fmt::format("not a layer (got '{}', expected all or comma-separated layers 0..{})", item, n_layer));
    out.push_back(v);
    start = end + 1;
  }
  return out;
}

}  // namespace

int cmd_hidden(int argc, char** argv) {
  namespace po = boost::program_options;
  po::options_description opts("options");
  opts.add_options()("help,h", "show this help")("model", po::value<std::string>(),
                                                 "GPT-2 checkpoint directory (config.json + model.safetensors)")(
      "tokenizer", po::value<std::string>(),
      "tokenizer directory (default: the model directory, else gpt2-tokenizer/ or gpt2/ beside it or its parents, "
      "else data/gpt2)")("text", po::value<std::string>(), "text to run (each line one sentence)")(
      "corpus", po::value<std::string>(), "corpus file, one sentence per line")(
      "format", po::value<std::string>()->default_value("text"),
      "text, or ids (space-separated token ids per line, for models without a tokenizer)")(
      "layers", po::value<std::string>()->default_value("all"), "all, or comma-separated layers (0 = wte + wpe)")(
      "truncate", "cut sentences longer than n_positions (default: an error naming the line)")(
      "out", po::value<std::string>(), "output HDF5 file");
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(argc, argv).options(opts).run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    throw Error(Exit::usage, fmt::format("hidden: {} (see embedlab hidden --help)", e.what()));
  }
  if (vm.count("help")) {
    std::cout << "usage: embedlab hidden --model DIR [--tokenizer DIR] (--text \"...\" | --corpus FILE) "
                 "[--layers all|0,6,12] --out F.h5\nThe hidden states of every token at the chosen layers: /hidden "
                 "[tokens, layers, C] float32, /token_ids, /sentence, /position, /layers, /final [tokens, C] (after "
                 "ln_f).\n\n"
              << opts;
    return 0;
  }
  if (!vm.count("model")) throw Error(Exit::usage, "hidden: missing --model DIR (see embedlab hidden --help)");
  if (!vm.count("out")) throw Error(Exit::usage, "hidden: missing --out F.h5 (see embedlab hidden --help)");
  if (vm.count("text") == vm.count("corpus"))
    throw Error(Exit::usage, "hidden: give exactly one of --text and --corpus (see embedlab hidden --help)");
  const std::string format_name = vm["format"].as<std::string>();
  if (format_name != "text" && format_name != "ids")
    fail(Exit::usage, "hidden", "--format",
         fmt::format("unknown format (got '{}', expected text or ids)", format_name));
  const auto format = format_name == "text" ? io::CorpusFormat::text : io::CorpusFormat::ids;
  const std::string model_dir = vm["model"].as<std::string>();

  const auto ckpt = io::load_gpt2(model_dir);
  const model::Gpt2 gpt(ckpt);
  std::optional<io::Gpt2Tokenizer> tok;
  if (format == io::CorpusFormat::text) {
    tok = find_tokenizer(vm.count("tokenizer") ? vm["tokenizer"].as<std::string>() : "", model_dir);
    if (!tok)
      fail(Exit::no_input, model_dir, "tokenizer",
           "no GPT-2 tokenizer found [hint: pass --tokenizer DIR, run `embedlab fetch gpt2-tokenizer`, or use "
           "--format ids]");
    if (tok->vocab_size() != gpt.vocab_size())
      fail(Exit::data, model_dir, "tokenizer",
           fmt::format("vocabulary size differs from the model's (got {}, expected {})", tok->vocab_size(),
                       gpt.vocab_size()));
  }
  const bool truncate = vm.count("truncate") > 0;
  const auto corpus = vm.count("text")
                          ? io::corpus_from_text(vm["text"].as<std::string>(), "--text", format, tok ? &*tok : nullptr,
                                                 gpt.n_positions(), truncate, gpt.vocab_size())
                          : io::read_corpus(vm["corpus"].as<std::string>(), format, tok ? &*tok : nullptr,
                                            gpt.n_positions(), truncate, gpt.vocab_size());
  std::vector<std::vector<int>> ids;
  std::vector<std::int64_t> lines;
  for (const auto& s : corpus.sentences) {
    ids.push_back(s.ids);
    lines.push_back(s.line);
  }
  auto layers = parse_layers(vm["layers"].as<std::string>(), gpt.n_layer());
  const auto st = model::corpus_states(gpt, ids, layers, true);

  // /hidden is row-major [tokens, layers, C]: token j, layer k, dimension i at (j·K + k)·C + i.
  const std::size_t N = st.token.size(), K = st.layers.size(), C = static_cast<std::size_t>(gpt.n_embd());
  std::vector<float> hidden(N * K * C);
  for (std::size_t j = 0; j < N; ++j)
    for (std::size_t k = 0; k < K; ++k) {
      const float* src = st.hidden[k].colptr(static_cast<arma::uword>(j));
      std::copy(src, src + C, hidden.begin() + static_cast<std::ptrdiff_t>((j * K + k) * C));
    }
  const std::string out = vm["out"].as<std::string>();
  io::H5ResultWriter h5(out);
  h5.write_array("/hidden", hidden, {N, K, C},
                 {"1", "residual-stream state of every token at each layer of /layers, [tokens, layers, C]"});
  h5.write("/final", arma::fmat(st.final_hidden.t()), {"1", "final hidden state after ln_f, [tokens, C]"});
  h5.write("/token_ids", st.token, {"token id", "token of each row, corpus order"});
  h5.write("/sentence", st.sentence, {"index", "sentence (0-based) of each row"});
  h5.write("/position", st.position, {"position", "position of each row in its sentence"});
  h5.write("/layers", std::vector<std::int64_t>(st.layers.begin(), st.layers.end()),
           {"layer", "layer index: 0 = wte + wpe, l = residual stream after block l"});
  h5.write("/sentence_line", lines, {"line", "1-based line of each sentence in the input"});
  h5.attr("/", "model", model_dir);
  h5.attr("/", "corpus", corpus.source.path);
  h5.attr("/", "corpus_sha256", corpus.source.sha256);
  if (!ckpt.sources.empty()) h5.attr("/", "model_sha256", ckpt.sources.back().sha256);
  h5.attr("/", "truncated_sentences", static_cast<std::int64_t>(corpus.truncated));
  h5.commit();
  fmt::print("{}: {} sentences, {} tokens, layers {}, n_embd {}\n", out, corpus.sentences.size(), N,
             fmt::join(st.layers, ","), C);
  return 0;
}

}  // namespace embedlab::cli
