// Benchmark of the analogy evaluation (linalg/wordbench.hpp) against gensim's
// evaluate_word_analogies on the same generated vocabulary:
//   - the vocabulary is every word of questions-words.txt (first rows, in order of appearance) plus
//     random filler words up to --n rows; vectors are seeded standard normal, --d columns;
//   - the full question set, 3CosAdd, restrict_vocab 300000 (gensim's default), case-insensitive.
// With --keep PATH (or by default, a temporary file) the matrix is written as word2vec binary and
// scripts/bench_wordbench_gensim.py times gensim on it; both times and the ratio are printed, and
// the per-section counts of both are compared (they answer the same questions).
//   bench_wordbench [--n 400000] [--d 50] [--questions FILE] [--keep PATH] [--no-peer] [--cosmul]
//                   [--threads T] [--seed S]
#include "bench_util.hpp"
#include "core/atomic_file.hpp"
#include "core/error.hpp"
#include "core/process.hpp"
#include "core/rng.hpp"
#include "core/threads.hpp"
#include "io/benchmarks.hpp"
#include "linalg/wordbench.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <unordered_set>

namespace {

using namespace embedlab;
using embedlab::bench::seconds_since;

// The peer's output; argv is passed without a shell (paths may contain any byte).
std::string run_peer(const std::vector<std::string>& argv) {
  const auto r = embedlab::run_capture(argv, true);
  if (r.exit_status != 0)
    fail(Exit::software, "bench_wordbench", "", fmt::format("'{}' exited with status {}", argv[1], r.exit_status));
  return r.out;
}

int run(int argc, char** argv) {
  arma::uword n = 400000, d = 50;
  std::uint64_t seed = 20261126;
  std::string questions = "tests/data/peer-files/questions-words.txt", keep;
  bool peer = true, cosmul = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) fail(Exit::usage, "bench_wordbench", a, "needs a value");
      return argv[++i];
    };
    if (a == "--n")
      n = std::stoul(value());
    else if (a == "--d")
      d = std::stoul(value());
    else if (a == "--seed")
      seed = std::stoull(value());
    else if (a == "--questions")
      questions = value();
    else if (a == "--keep")
      keep = value();
    else if (a == "--no-peer")
      peer = false;
    else if (a == "--cosmul")
      cosmul = true;
    else if (a == "--threads")
      set_threads(std::stoi(value()));
    else
      fail(Exit::usage, "bench_wordbench", a, "unknown option");
  }
  const io::AnalogySet set = io::read_analogies(questions);
  std::vector<std::string> tokens;
  std::unordered_set<std::string> seen;
  for (const auto& q : set.questions)
    for (const auto& w : q)
      if (seen.insert(w).second) tokens.push_back(w);
  const std::size_t question_words = tokens.size();
  if (n < tokens.size()) fail(Exit::usage, "bench_wordbench", "--n", fmt::format("must be at least {}", tokens.size()));
  for (arma::uword j = tokens.size(); j < n; ++j) tokens.push_back(fmt::format("filler{:07d}", j));
  Rng rng(seed);
  arma::fmat E(d, n);
  for (float& x : E) x = static_cast<float>(rng.normal());

  std::vector<linalg::AnalogySpan> spans;
  for (const auto& s : set.sections) spans.push_back({s.name, s.begin, s.end});
  linalg::AnalogyOptions opt;
  opt.method = cosmul ? linalg::AnalogyMethod::cos_mul : linalg::AnalogyMethod::cos_add;
  const auto t0 = bench::Clock::now();
  const linalg::WordIndex index(tokens, opt.vocab);
  const linalg::AnalogyResult r = linalg::evaluate_analogies(E, index, set.questions, spans, opt);
  const double ours = seconds_since(t0);
  fmt::print(
      "embedlab evaluate_analogies ({}): {} x {} matrix, {} question words, restrict_vocab {}, {} questions, "
      "{} threads\n",
      linalg::to_string(opt.method), n, d, question_words, opt.vocab.restrict_vocab, r.questions, threads());
  fmt::print("  total accuracy {:.4f} ({}/{}), oov {}: {:.2f} s\n", r.total.accuracy(), r.total.correct,
             r.total.correct + r.total.incorrect, r.oov, ours);
  if (!peer || cosmul) return 0;

  // word2vec binary: "n d\n" then per row "word " + d little-endian float32 + "\n".
  const bool temp = keep.empty();
  const std::string path =
      temp ? (std::filesystem::temp_directory_path() / fmt::format("bench_wordbench_{}.bin", ::getpid())).string()
           : keep;
  {
    std::string bytes = fmt::format("{} {}\n", n, d);
    bytes.reserve(bytes.size() + n * (d * sizeof(float) + 16));
    for (arma::uword j = 0; j < n; ++j) {
      bytes += tokens[j];
      bytes += ' ';
      bytes.append(reinterpret_cast<const char*>(E.colptr(j)), d * sizeof(float));
      bytes += '\n';
    }
    write_file_atomic(path, bytes);
  }
  const std::string script = "scripts/bench_wordbench_gensim.py";
  const std::string out = run_peer({"/usr/bin/python3", script, path, questions});
  if (temp) std::filesystem::remove(path);
  const nlohmann::json g = nlohmann::json::parse(out.substr(out.find('{')));
  const double theirs = g["seconds"].get<double>();
  std::uint64_t differ = 0;
  for (std::size_t s = 0; s < r.sections.size(); ++s)
    differ += r.sections[s].correct != g["sections"][s]["correct"].get<std::uint64_t>() ||
              r.sections[s].incorrect != g["sections"][s]["incorrect"].get<std::uint64_t>();
  fmt::print("gensim {} evaluate_word_analogies: total accuracy {:.4f}: {:.2f} s (load {:.2f} s, not counted)\n",
             g["gensim"].get<std::string>(), g["score"].get<double>(), theirs, g["load_seconds"].get<double>());
  fmt::print("speed-up: {:.1f}x; sections whose counts differ from gensim: {}\n", theirs / ours, differ);
  fmt::print("RESULT ours={:.4f} gensim={:.4f} differ={}\n", ours, theirs, differ);
  return 0;
}

}  // namespace

int main(int argc, char** argv) { return embedlab::bench::guarded_main(run, argc, argv); }
