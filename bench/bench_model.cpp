// bench_model: the GPT-2 forward pass on a GPT-2-small-shaped checkpoint (124M parameters, random
// weights) against the machine's two physical limits.
//
//   prefill    (128-token prompt, last position's logits): compute bound, limit = SGEMM rate / FLOPs
//   generation (32 tokens, KV cache, T = 1 per step):     memory bound,  limit = read bandwidth / bytes
//   (read bandwidth as the model reads: its worker count, streaming contiguous slices of 2 MiB-page
//   buffers, best of ½×, 1× and 2× the bytes per token — a limit no run of the model can exceed)
//
// What is counted (N = non-embedding matrix parameters = n_layer · 12C², V = vocab, C = n_embd):
//   FLOPs per prompt   = T · 2N  (every linear layer, one multiply-add per weight per token)
//                      + n_layer · 4 · C · T(T+1)/2  (QKᵀ and P·V over the causal triangle)
//                      + 2·V·C   (logits of the last position only)
//   bytes per new token = 4·(N + V·C)  (every weight matrix and the output matrix, read once)
//                      + n_layer · 2 · C · t · 4  (K and V caches up to position t)
//   Biases, LayerNorms, GELU and softmax are left out of both counts (they are O(C·T)).
//
// Usage: bench_model [--keep DIR | --model DIR] [--threads N] [--prompt T] [--gen N] [--layers L]
//   --keep DIR writes the checkpoint to DIR and leaves it there (for scripts/bench_model_torch.py).
//   --model DIR runs on a checkpoint written earlier with --keep instead of writing a new one.
//   --threads N measures with N OpenBLAS threads only (default: 1 and OpenBLAS's default, one row each).
//   --sentences S: the corpus of the layer_geometry row (S sentences of --prompt tokens, default 32).
//   --cka-tokens K: occurrences of its layer x layer CKA (layer_geometry's measures.cka_tokens, default
//   4096; 0 = all).
//   --load-only (with --model): load the checkpoint once, print `RESULT load_s=… load_cached=0|1`, stop
//   (scripts/bench.sh runs it in fresh processes, with and without EMBEDLAB_HASH_CACHE).
//
// corpus (layer_geometry's work): the states of every layer for S sentences of T tokens
// (model::corpus_states, as the experiment runs them) plus every measure the experiment computes
// per layer (anisotropy over 100,000 pairs, self-similarity, MEV, intra-sentence, norms, next-layer
// cosine, path length, IsoScore, layer × layer CKA over measures.cka_tokens occurrences); token ids drawn log-uniformly
// from the first 4096 ids so that words repeat across sentences as in text. Its tokens/s is set against the prefill
// rate of the same run and thread count.
#include "bench_util.hpp"
#include "core/error.hpp"
#include "core/rng.hpp"
#include "core/threads.hpp"
#include "geometry/layer_measures.hpp"
#include "io/gpt2_checkpoint.hpp"
#include "model/corpus_states.hpp"
#include "model/gpt2.hpp"

#include <fmt/format.h>
#include <armadillo>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <sys/mman.h>

namespace fs = std::filesystem;
using embedlab::bench::best_of;
using embedlab::bench::Clock;
using embedlab::bench::seconds_since;

namespace {

struct Shape {
  int V = 50257, P = 1024, C = 768, L = 12, H = 12;
};

struct TensorSpec {
  std::string name;
  std::vector<std::uint64_t> shape;  // Hugging Face (row-major)
  enum { normal, ones, zeros } init;
};

std::vector<TensorSpec> gpt2_tensors(const Shape& s) {
  const auto C = static_cast<std::uint64_t>(s.C);
  std::vector<TensorSpec> t;
  t.push_back({"wte.weight", {static_cast<std::uint64_t>(s.V), C}, TensorSpec::normal});
  t.push_back({"wpe.weight", {static_cast<std::uint64_t>(s.P), C}, TensorSpec::normal});
  for (int l = 0; l < s.L; ++l) {
    const std::string p = fmt::format("h.{}.", l);
    t.push_back({p + "ln_1.weight", {C}, TensorSpec::ones});
    t.push_back({p + "ln_1.bias", {C}, TensorSpec::zeros});
    t.push_back({p + "attn.c_attn.weight", {C, 3 * C}, TensorSpec::normal});
    t.push_back({p + "attn.c_attn.bias", {3 * C}, TensorSpec::zeros});
    t.push_back({p + "attn.c_proj.weight", {C, C}, TensorSpec::normal});
    t.push_back({p + "attn.c_proj.bias", {C}, TensorSpec::zeros});
    t.push_back({p + "ln_2.weight", {C}, TensorSpec::ones});
    t.push_back({p + "ln_2.bias", {C}, TensorSpec::zeros});
    t.push_back({p + "mlp.c_fc.weight", {C, 4 * C}, TensorSpec::normal});
    t.push_back({p + "mlp.c_fc.bias", {4 * C}, TensorSpec::zeros});
    t.push_back({p + "mlp.c_proj.weight", {4 * C, C}, TensorSpec::normal});
    t.push_back({p + "mlp.c_proj.bias", {C}, TensorSpec::zeros});
  }
  t.push_back({"ln_f.weight", {C}, TensorSpec::ones});
  t.push_back({"ln_f.bias", {C}, TensorSpec::zeros});
  return t;
}

// config.json + model.safetensors (hub layout, F32 little-endian), streamed tensor by tensor so the
// writer never holds more than one chunk. Weights ~ N(0, 0.02²), one seeded stream per tensor.
void write_checkpoint(const fs::path& dir, const Shape& s, std::uint64_t seed) {
  fs::create_directories(dir);
  nlohmann::ordered_json cfg = {{"model_type", "gpt2"},
                                {"architectures", {"GPT2LMHeadModel"}},
                                {"activation_function", "gelu_new"},
                                {"layer_norm_epsilon", 1e-5},
                                {"n_embd", s.C},
                                {"n_head", s.H},
                                {"n_inner", nullptr},
                                {"n_layer", s.L},
                                {"n_positions", s.P},
                                {"vocab_size", s.V},
                                {"tie_word_embeddings", true}};
  std::ofstream(dir / "config.json") << cfg.dump(2) << "\n";

  const auto specs = gpt2_tensors(s);
  nlohmann::ordered_json header;
  header["__metadata__"] = {{"format", "pt"}, {"writer", "embedlab bench_model"}};
  std::uint64_t offset = 0;
  for (const auto& t : specs) {
    std::uint64_t n = 1;
    for (auto d : t.shape) n *= d;
    header[t.name] = {{"dtype", "F32"}, {"shape", t.shape}, {"data_offsets", {offset, offset + 4 * n}}};
    offset += 4 * n;
  }
  std::string h = header.dump();
  h.resize((h.size() + 7) / 8 * 8, ' ');  // data section 8-byte aligned
  const fs::path tmp = dir / "model.safetensors.tmp";
  std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
  const std::uint64_t hn = h.size();  // little-endian u64 (x86-64)
  out.write(reinterpret_cast<const char*>(&hn), 8);
  out.write(h.data(), static_cast<std::streamsize>(h.size()));
  std::vector<float> chunk(1 << 20);
  const embedlab::Rng root(seed);
  for (std::size_t k = 0; k < specs.size(); ++k) {
    const auto& t = specs[k];
    embedlab::Rng rng = root.child(k);
    std::uint64_t n = 1;
    for (auto d : t.shape) n *= d;
    for (std::uint64_t done = 0; done < n;) {
      const std::uint64_t m = std::min<std::uint64_t>(chunk.size(), n - done);
      for (std::uint64_t i = 0; i < m; ++i)
        chunk[i] = t.init == TensorSpec::normal ? static_cast<float>(0.02 * rng.normal())
                                                : (t.init == TensorSpec::ones ? 1.0f : 0.0f);
      out.write(reinterpret_cast<const char*>(chunk.data()), static_cast<std::streamsize>(4 * m));
      done += m;
    }
  }
  out.close();
  if (!out) throw embedlab::Error(embedlab::Exit::io, fmt::format("{}: write failed", tmp.string()));
  fs::rename(tmp, dir / "model.safetensors");
}

// SGEMM rate (GFLOP/s) of C = A·B with A m×k, B k×n.
double sgemm_gflops(arma::uword m, arma::uword k, arma::uword n, int reps) {
  arma::arma_rng::set_seed(1);
  const arma::fmat a(m, k, arma::fill::randn), b(k, n, arma::fill::randn);
  arma::fmat c(m, n);
  c = a * b;  // warm-up
  const double t = best_of(reps, [&] { c = a * b; });
  return 2.0 * static_cast<double>(m) * static_cast<double>(k) * static_cast<double>(n) / t * 1e-9;
}

// A buffer of n floats in 2 MiB pages where the kernel allows (the loader asks for huge pages for
// the weights too: with 4 KiB pages a stream pays TLB misses the model does not pay).
struct PageBuffer {
  static constexpr std::size_t kHuge = std::size_t{2} << 20;
  float* p = nullptr;
  std::size_t n = 0;
  explicit PageBuffer(std::size_t count) : n(count) {
    const std::size_t bytes = (4 * n + kHuge - 1) / kHuge * kHuge;
    p = static_cast<float*>(std::aligned_alloc(kHuge, bytes));
    if (p == nullptr) throw embedlab::Error(embedlab::Exit::software, "bench_model: out of memory");
    ::madvise(p, bytes, MADV_HUGEPAGE);
    std::fill(p, p + n, 1.0f);
  }
  ~PageBuffer() { std::free(p); }
  PageBuffer(const PageBuffer&) = delete;
  PageBuffer& operator=(const PageBuffer&) = delete;
};

// Read bandwidth (GB/s) measured the way a generated token reads the weights: `threads` threads (the
// model's worker count) each stream one contiguous slice of a buffer (as each worker streams its
// blocks of columns), summing it with four independent 8-float vector accumulators so the loop is
// bound by the loads, not by add latency. Best over `reps` runs.
double read_bandwidth(const PageBuffer& buf, int threads, int reps) {
  using f8 = float __attribute__((vector_size(32)));
  std::vector<double> sink(static_cast<std::size_t>(threads));
  const std::size_t per = buf.n / static_cast<std::size_t>(threads) / 32 * 32;
  const auto run = [&] {
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) {
      pool.emplace_back([&, t] {
        const float* p = buf.p + per * static_cast<std::size_t>(t);
        f8 a0{}, a1{}, a2{}, a3{};
        for (std::size_t i = 0; i < per; i += 32) {
          f8 v0, v1, v2, v3;
          std::memcpy(&v0, p + i, 32);
          std::memcpy(&v1, p + i + 8, 32);
          std::memcpy(&v2, p + i + 16, 32);
          std::memcpy(&v3, p + i + 24, 32);
          a0 += v0, a1 += v1, a2 += v2, a3 += v3;
        }
        const f8 a = a0 + a1 + a2 + a3;
        double s = 0;
        for (int j = 0; j < 8; ++j) s += a[j];
        sink[static_cast<std::size_t>(t)] = s;
      });
    }
    for (auto& th : pool) th.join();
  };
  run();
  const double t = best_of(reps, run);
  volatile double keep = sink[0];
  (void)keep;
  return static_cast<double>(per * static_cast<std::size_t>(threads)) * 4.0 / t * 1e-9;
}

// memcpy bandwidth (GB/s, bytes read + written).
double memcpy_bandwidth(std::vector<float>& dst, const std::vector<float>& src, int reps) {
  std::memcpy(dst.data(), src.data(), 4 * src.size());
  const double t = best_of(reps, [&] { std::memcpy(dst.data(), src.data(), 4 * src.size()); });
  return 2.0 * 4.0 * static_cast<double>(src.size()) / t * 1e-9;
}

struct Args {
  std::string keep, model;
  int threads = 0, prompt = 128, gen = 32, layers = 12, reps = 3, sentences = 32, cka_tokens = 4096;
  bool load_only = false;
};

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string k = argv[i];
    const auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw embedlab::Error(embedlab::Exit::usage, fmt::format("{} needs a value", k));
      return argv[++i];
    };
    if (k == "--keep") {
      a.keep = value();
    } else if (k == "--model") {
      a.model = value();
    } else if (k == "--threads") {
      a.threads = std::stoi(value());
    } else if (k == "--prompt") {
      a.prompt = std::stoi(value());
    } else if (k == "--gen") {
      a.gen = std::stoi(value());
    } else if (k == "--layers") {
      a.layers = std::stoi(value());
    } else if (k == "--sentences") {
      a.sentences = std::stoi(value());
    } else if (k == "--cka-tokens") {
      a.cka_tokens = std::stoi(value());
    } else if (k == "--reps") {
      a.reps = std::stoi(value());
    } else if (k == "--load-only") {
      a.load_only = true;
    } else if (k == "--help" || k == "-h") {
      fmt::print(
          "usage: bench_model [--keep DIR | --model DIR] [--threads N] [--prompt T] [--gen N] [--layers L] [--reps "
          "R] [--sentences S] [--cka-tokens K] [--load-only]\n");
      std::exit(0);
    } else {
      throw embedlab::Error(embedlab::Exit::usage, fmt::format("unknown option '{}'", k));
    }
  }
  if (a.load_only && a.model.empty()) throw embedlab::Error(embedlab::Exit::usage, "--load-only needs --model DIR");
  if (a.prompt < 1 || a.gen < 1 || a.layers < 1 || a.reps < 1 || a.prompt + a.gen > 1024)
    throw embedlab::Error(embedlab::Exit::usage, "need prompt ≥ 1, gen ≥ 1, prompt + gen ≤ 1024, layers ≥ 1");
  return a;
}

// layer_geometry's work on a corpus (see the header): seconds for the states and for the measures, and
// the measures' split (anisotropy pairs, self-similarity, MEV, intra-sentence, norms + trajectory,
// IsoScore, CKA) in `split`.
struct CorpusSplit {
  embedlab::geometry::LayerMeasureTimes times;
  std::size_t cka_columns = 0;
  double prefill_s = 0;  // the same sentences as prefills (logits of the last token), before + after
};
// layer_geometry on a random corpus. The prefill rate it is compared with is measured on the same
// sentences, one prefill each, right before and right after (the mean of the two): on a shared
// machine whose speed drifts over the tens of seconds of the run, a best-of-5 of 0.15 s prefills
// against one long run would compare a quiet instant with an average.
std::pair<double, double> corpus_run(const embedlab::model::Gpt2& model, int sentences, int tokens, int threads,
                                     std::size_t cka_tokens, CorpusSplit& split) {
  embedlab::Rng rng(11);
  std::vector<std::vector<int>> corpus(static_cast<std::size_t>(sentences));
  for (auto& s : corpus)
    for (int t = 0; t < tokens; ++t) s.push_back(static_cast<int>(std::pow(4096.0, rng.uniform())) - 1);
  std::vector<int> layers;
  for (int l = 0; l <= model.n_layer(); ++l) layers.push_back(l);
  embedlab::model::Gpt2Session session(model, tokens);
  const auto prefills = [&] {
    const auto p0 = Clock::now();
    for (const auto& s : corpus) {
      session.reset();
      session.feed(s, embedlab::model::Logits::last);
    }
    return seconds_since(p0);
  };
  split.prefill_s = prefills();
  auto t0 = Clock::now();
  const auto st = embedlab::model::corpus_states(model, corpus, layers, false);
  const double t_states = seconds_since(t0);
  t0 = Clock::now();
  // exactly the experiment's measures (every token a word, as layer_geometry without a tokenizer)
  embedlab::Rng prng(42);
  embedlab::geometry::WordOccurrences words;
  words.key = st.token;
  words.sentence = st.sentence;
  embedlab::geometry::LayerMeasureOptions mo;
  mo.cka_tokens = cka_tokens;
  mo.workers = threads;
  const auto r = embedlab::geometry::measure_layers(st.hidden, st.sentence, words, mo, prng, &split.times);
  split.cka_columns = r.cka_columns.size();
  const double t_measures = seconds_since(t0);
  split.prefill_s += prefills();
  return {t_states, t_measures};
}

int run(int argc, char** argv) {
  const Args args = parse(argc, argv);
  const int default_threads = embedlab::threads();
  Shape shape;
  shape.L = args.layers;

  fs::path dir;
  bool remove = false;
  double t_write = 0;
  if (!args.model.empty()) {
    dir = args.model;
  } else if (!args.keep.empty()) {
    dir = args.keep;
  } else {
    std::string tmpl = (fs::temp_directory_path() / "bench_model-XXXXXX").string();
    if (mkdtemp(tmpl.data()) == nullptr) throw embedlab::Error(embedlab::Exit::cant_create, "mkdtemp failed");
    dir = tmpl;
    remove = true;
  }
  auto t0 = Clock::now();
  if (args.model.empty()) {
    write_checkpoint(dir, shape, 20261126);
    t_write = seconds_since(t0);
  }

  const std::uint64_t rss_before = embedlab::bench::peak_rss_bytes();
  t0 = Clock::now();
  const auto ckpt = embedlab::io::load_gpt2(dir.string());
  const double t_load = seconds_since(t0);
  if (args.load_only) {
    const bool cached = !ckpt.sources.empty() && ckpt.sources.back().sha256_cached;
    fmt::print("load {:.3f} s ({}; sha256 {})\nRESULT load_s={:.4f} load_cached={}\n", t_load,
               cached ? "digest from the hash cache" : "hashed", ckpt.sources.back().sha256.substr(0, 16), t_load,
               cached ? 1 : 0);
    return 0;
  }
  const embedlab::model::Gpt2 model(ckpt);
  shape = Shape{model.vocab_size(), model.n_positions(), model.n_embd(), model.n_layer(), model.n_head()};
  const std::uint64_t params = model.n_params();
  const std::uint64_t weight_bytes = 4 * params;
  const auto C = static_cast<std::uint64_t>(shape.C), V = static_cast<std::uint64_t>(shape.V);
  const std::uint64_t n_matrix = static_cast<std::uint64_t>(shape.L) * 12 * C * C;

  std::vector<int> prompt(static_cast<std::size_t>(args.prompt));
  embedlab::Rng rng(7);
  for (auto& id : prompt) id = static_cast<int>(rng.below(V));
  if (!args.keep.empty())  // scripts/bench_model_torch.py runs the same prompt and can compare greedy ids
    std::ofstream(dir / "bench_prompt.json") << nlohmann::json{{"ids", prompt}}.dump() << "\n";
  using embedlab::model::Logits;
  embedlab::model::Gpt2Session session(model, args.prompt + args.gen);
  const double tp = static_cast<double>(args.prompt);
  const double flops_prompt = tp * 2.0 * static_cast<double>(n_matrix) +
                              static_cast<double>(shape.L) * 4.0 * static_cast<double>(C) * tp * (tp + 1) / 2 +
                              2.0 * static_cast<double>(V * C);
  const double avg_ctx = args.prompt + args.gen / 2.0;
  const double bytes_token = 4.0 * static_cast<double>(n_matrix + V * C) +
                             static_cast<double>(shape.L) * 2.0 * static_cast<double>(C) * avg_ctx * 4.0;

  // Each thread count: the model, then the machine's limits with the same number of threads (the
  // machine may be shared, so limits are measured right next to the model runs they bound).
  std::vector<int> thread_counts = {args.threads};
  if (args.threads == 0) {
    thread_counts = {1};
    if (default_threads > 1) thread_counts.push_back(default_threads);
  }
  struct Row {
    int threads;
    double prefill_tps, prefill_limit, gemm_square, gemm_fc, gen_tps, gen_limit, bw_read;
  };
  std::vector<Row> rows;
  std::vector<int> generated;
  std::uint64_t rss_peak = 0;
  double bw_copy = 0;
  std::vector<float> big;
  std::vector<std::unique_ptr<PageBuffer>> read_bufs;
  for (const int th : thread_counts) {
    embedlab::set_threads(th);
    // prefill: the whole prompt at once, logits of the last position
    session.reset();
    session.feed(std::span<const int>(prompt).first(std::min(8, args.prompt)), Logits::last);  // warm-up
    const double t_prefill = best_of(args.reps, [&] {
      session.reset();
      session.feed(prompt, Logits::last);
    });
    // generation: prefill, then one token per step with the KV cache (greedy)
    double t_gen = 1e300;
    for (int r = 0; r < args.reps; ++r) {
      session.reset();
      const arma::fmat* z = &session.feed(prompt, Logits::last);
      generated.clear();
      const auto g0 = Clock::now();
      for (int k = 0; k < args.gen; ++k) {
        const int next = static_cast<int>(embedlab::model::argmax_lowest(z->memptr(), z->n_rows));
        generated.push_back(next);
        z = &session.feed(std::span<const int>(&generated.back(), 1), Logits::last);
      }
      t_gen = std::min(t_gen, seconds_since(g0));
    }
    if (rss_peak == 0) rss_peak = embedlab::bench::peak_rss_bytes();  // before any benchmark buffer below

    // the machine: SGEMM at a large square size and at this model's MLP prefill shape; read bandwidth
    Row row{};
    row.threads = th;
    row.gemm_square = sgemm_gflops(2048, 2048, 2048, args.reps);
    row.gemm_fc = sgemm_gflops(4 * C, C, static_cast<arma::uword>(args.prompt), args.reps);
    if (big.empty()) {
      big.assign(std::size_t{1} << 27, 1.0f);  // 512 MB, far beyond any cache
      std::vector<float> dst(big.size());
      bw_copy = memcpy_bandwidth(dst, big, args.reps);
      // Read buffers of half, once and twice the bytes a token reads: the limit is the best of them,
      // so that no size the model could profit from (cache, page layout) is left out.
      for (const double f : {0.5, 1.0, 2.0})
        read_bufs.push_back(std::make_unique<PageBuffer>(static_cast<std::size_t>(f * bytes_token / 4)));
    }
    const int workers = std::clamp(th, 1, shape.H);  // the forward pass's team (Gpt2Session::feed)
    for (const auto& b : read_bufs) row.bw_read = std::max(row.bw_read, read_bandwidth(*b, workers, args.reps));
    row.prefill_tps = tp / t_prefill;
    row.prefill_limit = row.gemm_square * 1e9 / (flops_prompt / tp);
    row.gen_tps = args.gen / t_gen;
    row.gen_limit = row.bw_read * 1e9 / bytes_token;
    rows.push_back(row);
  }

  // layer_geometry's corpus throughput, at the last thread count, next to that count's prefill rate;
  // the limit measurements' 1.5 GB of buffers are released first (the corpus run is a process
  // holding the model and its states, as run_experiment is)
  std::vector<float>().swap(big);
  read_bufs.clear();
  CorpusSplit split;
  const auto [t_states, t_measures] = corpus_run(model, args.sentences, args.prompt, rows.back().threads,
                                                 static_cast<std::size_t>(std::max(0, args.cka_tokens)), split);
  const double corpus_tokens = static_cast<double>(args.sentences) * args.prompt;
  const double corpus_tps = corpus_tokens / (t_states + t_measures);
  const double corpus_prefill_tps = 2 * corpus_tokens / split.prefill_s;

  fmt::print("## bench_model: GPT-2 forward pass, {} layers, C={}, V={}\n\n", shape.L, shape.C, shape.V);
  fmt::print("checkpoint: {:.1f}M parameters, {:.1f} MB F32 (write {:.2f} s, load {:.2f} s){}\n", params / 1e6,
             weight_bytes / 1e6, t_write, t_load, args.keep.empty() ? "" : fmt::format(", kept in {}", dir.string()));
  fmt::print(
      "prefill: {} tokens, logits of the last one, {:.3f} GFLOP/token; generation: {} tokens with the KV cache, "
      "{:.1f} MB read/token\n\n",
      args.prompt, flops_prompt / tp * 1e-9, args.gen, bytes_token * 1e-6);
  fmt::print(
      "| threads | prefill tok/s | limit (SGEMM GFLOP/s) | % | achieved GFLOP/s (SGEMM {}×{}·{}×{}) | generation "
      "tok/s | limit (read GB/s) | % | achieved GB/s |\n|---|---|---|---|---|---|---|---|---|\n",
      4 * C, C, C, args.prompt);
  for (const Row& r : rows)
    fmt::print(
        "| {} | {:.1f} | {:.1f} ({:.1f}) | {:.0f}% | {:.1f} ({:.1f}) | {:.1f} | {:.1f} ({:.1f}) | {:.0f}% | {:.1f} |\n",
        r.threads, r.prefill_tps, r.prefill_limit, r.gemm_square, 100 * r.prefill_tps / r.prefill_limit,
        r.prefill_tps * flops_prompt / tp * 1e-9, r.gemm_fc, r.gen_tps, r.gen_limit, r.bw_read,
        100 * r.gen_tps / r.gen_limit, r.gen_tps * bytes_token * 1e-9);
  fmt::print(
      "\nmemcpy {:.1f} GB/s (read + write). Peak RSS of the model run {:.1f} MB = {:.2f}× the weights ({:.1f} "
      "MB; {:.1f} MB before loading).\n",
      bw_copy, rss_peak / 1e6, static_cast<double>(rss_peak) / weight_bytes, weight_bytes / 1e6, rss_before / 1e6);
  for (const Row& r : rows)
    fmt::print(
        "RESULT threads={} prefill_tps={:.2f} prefill_pct={:.1f} prefill_pct_shape={:.1f} gen_tps={:.2f} "
        "gen_pct={:.1f} "
        "rss_ratio={:.3f}\n",
        r.threads, r.prefill_tps, 100 * r.prefill_tps / r.prefill_limit,
        100 * r.prefill_tps * flops_prompt / tp * 1e-9 / r.gemm_fc, r.gen_tps, 100 * r.gen_tps / r.gen_limit,
        static_cast<double>(rss_peak) / weight_bytes);
  fmt::print(
      "corpus (layer_geometry: every layer's states + all measures), {} sentences × {} tokens, {} threads: "
      "states {:.2f} s, measures {:.2f} s, {:.1f} tok/s = {:.0f}% of the prefill rate on the same sentences {:.1f} "
      "tok/s (prefilled just before and after; {:.0f}% of the best-of-{} prefill rate above)\n",
      args.sentences, args.prompt, rows.back().threads, t_states, t_measures, corpus_tps,
      100 * corpus_tps / corpus_prefill_tps, corpus_prefill_tps, 100 * corpus_tps / rows.back().prefill_tps, args.reps);
  fmt::print(
      "measures: anisotropy pairs {:.2f} s, self-similarity {:.2f} s, MEV {:.2f} s, intra-sentence {:.2f} s, norms + "
      "trajectory {:.2f} s, IsoScore {:.2f} s, layer x layer CKA {:.2f} s over {} occurrences (cka_tokens {})\n",
      split.times.pairs, split.times.self, split.times.mev, split.times.intra, split.times.trajectory, split.times.iso,
      split.times.cka, split.cka_columns, args.cka_tokens);
  fmt::print(
      "RESULT corpus_tps={:.2f} corpus_pct={:.1f} corpus_prefill_tps={:.2f} corpus_pct_best={:.1f} "
      "corpus_states_s={:.3f} corpus_measures_s={:.3f}\n",
      corpus_tps, 100 * corpus_tps / corpus_prefill_tps, corpus_prefill_tps, 100 * corpus_tps / rows.back().prefill_tps,
      t_states, t_measures);
  fmt::print("greedy ids (first 8): {}\n",
             fmt::join(generated.begin(), generated.begin() + std::min(8, args.gen), " "));

  if (remove) fs::remove_all(dir);
  return 0;
}

}  // namespace

int main(int argc, char** argv) { return embedlab::bench::guarded_main(run, argc, argv); }
