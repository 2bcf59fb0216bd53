// Tokenizer throughput: encode MB/s on one thread of a ~10 MB multilingual text (built
// deterministically from a multi-script seed text), one line a document as the oracle's encodeBatch
// gets it, best of 3; and the load time of each tokenizer.json (Llama-3's: 128k tokens, 280k merges),
// the process's first and the best of 3.
//   bench_tokenizer --text OUT.txt [--mb 10] NAME=TOKENIZER_JSON...
// Writes the text to OUT.txt (scripts/bench.sh times the oracle on the same file) and prints
// `RESULT NAME_mbps=… NAME_load=… NAME_load_first=…` per tokenizer.
#include "tokenizer/tokenizer.hpp"

#include <fmt/format.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <random>
#include <string>
#include <vector>

namespace {

const std::vector<std::string> kSeed = {
    "The quick brown fox jumps over the lazy dog, doesn't it? I'll see; they've 12,345 reasons.",
    "Embedding spaces are anisotropic: most vectors share a common direction (Ethayarajh, 2019).",
    "def cosine(a, b):\n    return a @ b / (np.linalg.norm(a) * np.linalg.norm(b))",
    "Съешь же ещё этих мягких французских булок, да выпей чаю.",
    "Ελληνικά: η γλώσσα του Ομήρου και του Πλάτωνα.",
    "日本語のテキストは単語の間に空白がありません。東京は大きな都市です。",
    "中文文本没有空格，分词是一个重要的问题。北京欢迎你！",
    "한국어 문장은 띄어쓰기를 사용합니다. 서울은 한국의 수도입니다.",
    "العربية لغة جميلة، وهي لغة القرآن الكريم.",
    "עברית נכתבת מימין לשמאל.",
    "हिन्दी भारत की एक प्रमुख भाषा है।",
    "ภาษาไทยไม่มีการเว้นวรรคระหว่างคำ",
    "Phân Tích Cosine Similarity trong Không Gian Embedding của GPT-2.",
    "Emoji 😀 👍🏽 👨‍👩‍👧‍👦 🇫🇷 and café naïve résumé Ångström.",
    "  indented   with   runs of spaces\tand tabs\r\n",
    "<html><body class=\"x\">&amp; 3.14159 2026-12-02 https://example.com/?q=1</body></html>",
};

std::string build_text(std::size_t bytes) {
  std::mt19937_64 rng(20261202);
  std::string text;
  text.reserve(bytes + 256);
  while (text.size() < bytes) {
    std::string line;
    const int parts = 1 + static_cast<int>(rng() % 4);
    for (int p = 0; p < parts; ++p) {
      if (p) line += ' ';
      line += kSeed[rng() % kSeed.size()];
      line += fmt::format(" {}", rng() % 100000);
    }
    text += line;
    text += '\n';
  }
  return text;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

int main(int argc, char** argv) {
  std::string out;
  double mb = 10;
  std::vector<std::pair<std::string, std::string>> toks;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--text" && i + 1 < argc) {
      out = argv[++i];
    } else if (a == "--mb" && i + 1 < argc) {
      mb = std::stod(argv[++i]);
    } else if (const auto eq = a.find('='); eq != std::string::npos) {
      toks.emplace_back(a.substr(0, eq), a.substr(eq + 1));
    } else {
      std::fprintf(stderr, "usage: bench_tokenizer --text OUT.txt [--mb 10] NAME=TOKENIZER_JSON...\n");
      return 64;
    }
  }
  const std::string text = build_text(static_cast<std::size_t>(mb * 1e6));
  if (!out.empty()) std::ofstream(out, std::ios::binary) << text;
  std::vector<std::string_view> lines;
  for (std::size_t p = 0; p < text.size();) {
    std::size_t e = text.find('\n', p);
    e = e == std::string::npos ? text.size() : e + 1;
    lines.emplace_back(text.data() + p, e - p);
    p = e;
  }
  fmt::print("text: {:.1f} MB, {} lines\n", text.size() / 1e6, lines.size());
  try {
    for (const auto& [name, path] : toks) {
      // Loads: the process's first, and the best of 3 (the first also pays for faulting in fresh heap).
      auto t0 = std::chrono::steady_clock::now();
      auto tok = embedlab::tok::Tokenizer::from_file(path);
      const double first = seconds_since(t0);
      double load = first;
      for (int r = 0; r < 2; ++r) {
        t0 = std::chrono::steady_clock::now();
        tok = embedlab::tok::Tokenizer::from_file(path);
        load = std::min(load, seconds_since(t0));
      }
      double best = 1e300;
      std::size_t n = 0;
      for (int r = 0; r < 3; ++r) {
        t0 = std::chrono::steady_clock::now();
        n = 0;
        for (const auto l : lines) n += tok.encode_ids(l).size();
        best = std::min(best, seconds_since(t0));
      }
      fmt::print("{}: load {:.3f} s (first {:.3f} s), encode {:.3f} s ({:.2f} MB/s, {} tokens)\n", name, load, first,
                 best, text.size() / 1e6 / best, n);
      fmt::print("RESULT {}_mbps={:.4f} {}_load={:.4f} {}_load_first={:.4f} {}_tokens={}\n", name,
                 text.size() / 1e6 / best, name, load, name, first, name, n);
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
