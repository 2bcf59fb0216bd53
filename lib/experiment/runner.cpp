#include "experiment/runner.hpp"

#include "comm/comm.hpp"
#include "core/atomic_file.hpp"
#include "core/progress.hpp"
#include "core/sha256.hpp"
#include "core/threads.hpp"
#include "experiment/memory.hpp"
#include "linalg/normalize.hpp"
#include "linalg/spectra.hpp"
#include "tokenizer/tokenizer.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <set>
#include <thread>

namespace embedlab::experiment {

namespace fs = std::filesystem;

namespace {

// The shared stages' keys, bound to one struct.
struct Pipeline {
  std::string name;
  std::int64_t seed = 0;
  std::string path, format, tensor, matrix, duplicates;
  std::int64_t limit = 0;
  std::string bad_rows, transform;
  std::int64_t abtt_components = 0;
  bool plots = true;
};

void declare_pipeline(Schema<Pipeline>& s, Stage stage) {
  s.key("experiment.name", &Pipeline::name, "", "which experiment to run (run_experiment --list)").required();
  s.key("experiment.seed", &Pipeline::seed, "42", "root seed of the run's random generator (--seed overrides)").min(0);
  if (stage != Stage::none) {
    auto& p = s.path("embeddings.path", &Pipeline::path, "", kSourceHelp);
    if (stage == Stage::required) p.required();
    p.input();
    s.key("embeddings.format", &Pipeline::format, "auto", "file format (auto decides from the path)")
        .one_of(kEmbeddingFormats);
    s.key("embeddings.tensor", &Pipeline::tensor, "",
          "safetensors tensor / HDF5 dataset path (empty: the obvious one; for GPT-2 dirs: wte, wpe or lm_head)");
    s.key("embeddings.matrix", &Pipeline::matrix, "input", kMatrixKeyHelp).one_of({"input", "output", "position"});
    s.key("embeddings.limit", &Pipeline::limit, "0", "read only the first N rows of word formats (0 = all)").min(0);
    s.key("embeddings.duplicates", &Pipeline::duplicates, "first",
          "word formats, a token seen again: first (keep the first occurrence, as gensim; the dropped lines are "
          "listed in the report and /embeddings) or error (exit 65 naming both lines)")
        .one_of({"first", "error"});
    s.key("normalize.bad_rows", &Pipeline::bad_rows, "fail",
          "zero or non-finite rows: fail (error naming them) or exclude (dropped, counted in the report)")
        .one_of({"fail", "exclude"});
    s.key("normalize.transform", &Pipeline::transform, "none",
          "post-processing of the unit vectors: none, or all_but_the_top (subtract the mean, remove the top "
          "principal directions)")
        .one_of({"none", "all_but_the_top"});
    s.key("normalize.abtt_components", &Pipeline::abtt_components, "2",
          "all_but_the_top: number of principal directions removed")
        .range(0, 1000);
  }
  s.key("report.plots", &Pipeline::plots, "true", "draw PNG plots with gnuplot (the report says when it cannot)");
}

std::vector<std::string> experiment_names(const Registry& registry) {
  std::vector<std::string> out;
  for (const auto& e : registry) out.emplace_back(e.name);
  return out;
}

// --- run.json and signals -------------------------------------------------------------------

struct RunState {
  std::string run_dir, run_json, experiment, run_id, started, config_path;
};

std::string run_json_text(const RunState& s, const std::string& status, const std::string& finished, int exit_code,
                          const std::string& error) {
  nlohmann::ordered_json j;
  j["experiment"] = s.experiment;
  j["run_id"] = s.run_id;
  j["status"] = status;
  j["config"] = s.config_path;
  j["pid"] = static_cast<long>(::getpid());
  j["started"] = s.started;
  if (!finished.empty()) j["finished"] = finished;
  if (status != "RUNNING") j["exit_code"] = exit_code;
  if (!error.empty()) j["error"] = error;
  return j.dump(2) + "\n";
}

// Pre-rendered for the signal handler, which may only use async-signal-safe calls.
char g_interrupted_json[2][4096];
std::size_t g_interrupted_len[2] = {0, 0};
char g_run_json_path[4096];
char g_run_json_tmp[4096];
volatile sig_atomic_t g_handler_armed = 0;

void on_signal(int sig) {
  if (g_handler_armed) {
    remove_registered_temps();
    const int which = sig == SIGINT ? 0 : 1;
    const int fd = ::open(g_run_json_tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
      [[maybe_unused]] auto w = ::write(fd, g_interrupted_json[which], g_interrupted_len[which]);
      ::fsync(fd);
      ::close(fd);
      ::rename(g_run_json_tmp, g_run_json_path);
    }
  }
  _exit(128 + sig);
}

void arm_signals(const RunState& s) {
  const std::string tmp = s.run_json + ".tmp-signal";
  if (s.run_json.size() >= sizeof g_run_json_path || tmp.size() >= sizeof g_run_json_tmp) return;
  std::memcpy(g_run_json_path, s.run_json.c_str(), s.run_json.size() + 1);
  std::memcpy(g_run_json_tmp, tmp.c_str(), tmp.size() + 1);
  for (int which = 0; which < 2; ++which) {
    const int sig = which == 0 ? SIGINT : SIGTERM;
    const std::string text = run_json_text(s, "INTERRUPTED", "(signal)", 128 + sig,
                                           which == 0 ? "interrupted by SIGINT" : "interrupted by SIGTERM");
    const std::size_t n = std::min(text.size(), sizeof g_interrupted_json[0]);
    std::memcpy(g_interrupted_json[which], text.data(), n);
    g_interrupted_len[which] = n;
  }
  g_handler_armed = 1;
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

void disarm_signals() {
  g_handler_armed = 0;
  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGTERM, SIG_DFL);
}

// --- run directories --------------------------------------------------------------------------

// The run directory appears with its run.json already inside: it is prepared under a hidden
// staging name and renamed into place with RENAME_NOREPLACE (exclusive: never onto an existing run).
// A process killed before the rename leaves only a `.staging-*` directory, which --check reports.
std::string make_run_dir(const std::string& results_dir, const std::string& experiment, Rng& rng, std::string& run_id,
                         const std::function<std::string(const std::string& run_id)>& run_json) {
  std::error_code ec;
  if (fs::exists(results_dir, ec) && !fs::is_directory(results_dir, ec))
    fail(Exit::cant_create, results_dir, "", "results path is not a directory");
  const fs::path base = fs::path(results_dir) / experiment;
  fs::create_directories(base, ec);
  if (ec || !fs::is_directory(base))
    fail(Exit::cant_create, base.string(), "", "cannot create results directory: " + ec.message());
  if (::access(base.c_str(), W_OK) != 0)
    fail(Exit::cant_create, base.string(), "", "results directory is not writable");
  const fs::path staging = base / fmt::format(".staging-{}-{:08x}", ::getpid(), rng.next_u64() & 0xFFFFFFFF);
  if (::mkdir(staging.c_str(), 0755) != 0)
    fail(Exit::cant_create, staging.string(), "", std::string("cannot create run directory: ") + std::strerror(errno));
  const std::string stamp = utc_now_iso8601();  // 2026-11-26T18:00:00Z
  std::string compact;
  for (char c : stamp)
    if (c != '-' && c != ':') compact += c;
  for (int attempt = 0; attempt < 100; ++attempt) {
    run_id = fmt::format("{}-{:06x}", compact, rng.next_u64() & 0xFFFFFF);
    try {
      write_file_atomic((staging / "run.json").string(), run_json(run_id));
    } catch (...) {  // e.g. the disk is full: leave nothing behind
      fs::remove_all(staging, ec);
      throw;
    }
    const fs::path dir = base / run_id;
    int rc = ::renameat2(AT_FDCWD, staging.c_str(), AT_FDCWD, dir.c_str(), RENAME_NOREPLACE);
    if (rc != 0 && errno == EINVAL && !fs::exists(dir, ec))  // a filesystem without RENAME_NOREPLACE
      rc = ::rename(staging.c_str(), dir.c_str());
    if (rc == 0) return dir.string();
    if (errno != EEXIST && errno != ENOTEMPTY) {
      const int err = errno;
      fs::remove_all(staging, ec);
      fail(Exit::cant_create, dir.string(), "", std::string("cannot create run directory: ") + std::strerror(err));
    }
  }
  fs::remove_all(staging, ec);
  fail(Exit::cant_create, base.string(), "", "cannot find a free run directory name");
}

void point_latest(const std::string& results_dir, const std::string& experiment, const std::string& run_id) {
  const fs::path base = fs::path(results_dir) / experiment;
  const fs::path tmp = base / fmt::format(".latest.tmp-{}", ::getpid());
  std::error_code ec;
  fs::remove(tmp, ec);
  fs::create_directory_symlink(run_id, tmp, ec);
  if (!ec) fs::rename(tmp, base / "latest", ec);
  if (ec) fs::remove(tmp, ec);
}

// --- the embeddings and normalize stages ------------------------------------------------------

Prepared prepare(const Pipeline& p, bool keep_raw, std::vector<InputFile>& inputs) {
  Prepared out;
  io::LoadOptions lo;
  lo.path = p.path;
  lo.format = p.format;
  lo.tensor = p.tensor;
  lo.matrix = p.matrix == "input" ? "" : p.matrix;  // input: the default (a GPT-2 tensor key may still pick wpe)
  if (p.limit > 0) lo.limit = static_cast<std::uint64_t>(p.limit);
  lo.duplicates = p.duplicates == "error" ? io::DuplicatePolicy::error : io::DuplicatePolicy::first;
  out.emb = io::load_embeddings(lo);
  inputs.push_back(out.emb.source);
  linalg::NormalizeOptions no;
  no.policy = p.bad_rows == "exclude" ? linalg::BadRowPolicy::exclude : linalg::BadRowPolicy::fail;
  no.names = std::move(out.emb.tokens);  // lent for messages, given back below (no copy of the vocabulary)
  no.source = p.path;
  auto n = linalg::normalize_rows(out.emb.vectors, no);
  out.emb.tokens = std::move(no.names);
  out.norms = std::move(n.norms);
  // An experiment that reads only the unit vectors does not keep the loaded copy as well.
  if (!keep_raw) out.emb.vectors.reset();
  if (!n.excluded.empty()) {
    for (const auto& b : n.excluded)
      out.excluded.push_back(fmt::format("row {} '{}': {}", b.index, out.emb.token_name(b.index), b.reason));
    // Keep only the good rows everywhere so columns of emb, unit and norms stay aligned.
    if (keep_raw) out.emb.vectors = out.emb.vectors.cols(n.kept);
    out.norms = out.norms.elem(n.kept);
    if (!out.emb.tokens.empty()) {
      std::vector<std::string> kept;
      kept.reserve(n.kept.n_elem);
      for (auto j : n.kept) kept.push_back(out.emb.tokens[j]);
      out.emb.tokens = std::move(kept);
    }
  }
  out.unit = std::move(n.unit);
  out.transform = "none";
  if (p.transform == "all_but_the_top") {
    // ABTT returns centred, projected vectors: re-normalise so downstream cosines stay cosines.
    linalg::NormalizeOptions again;
    again.source = p.path + " (after all_but_the_top)";
    out.unit =
        linalg::normalize_rows(linalg::all_but_the_top(out.unit, static_cast<arma::uword>(p.abtt_components)), again)
            .unit;
    out.transform =
        fmt::format("all_but_the_top (mean removed, top {} principal directions removed)", p.abtt_components);
  }
  return out;
}

// Tokens the reader dropped as repeats (embeddings.duplicates = first): count and list.
void write_duplicates(io::H5ResultWriter& h5, const io::Embeddings& emb, const std::string& policy) {
  h5.attr("/embeddings", "duplicates_policy", policy);
  h5.attr("/embeddings", "duplicate_tokens", static_cast<std::int64_t>(emb.duplicates.size()));
  if (emb.duplicates.empty()) return;
  std::vector<std::string> tokens;
  std::vector<std::int64_t> at, first;
  for (const auto& d : emb.duplicates) {
    tokens.push_back(d.token);
    at.push_back(static_cast<std::int64_t>(d.at));
    first.push_back(static_cast<std::int64_t>(d.first_at));
  }
  const std::string& unit = emb.duplicate_position;  // "line" or "record"
  h5.write("/embeddings/duplicates/token", tokens, {"1", "tokens seen again, the later occurrence dropped"});
  h5.write("/embeddings/duplicates/" + unit, at, {"1", fmt::format("1-based {} of the dropped occurrence", unit)});
  h5.write("/embeddings/duplicates/first_" + unit, first,
           {"1", fmt::format("1-based {} of the first occurrence (the one kept)", unit)});
}

void duplicates_markdown(report::Markdown& md, const io::Embeddings& emb) {
  constexpr std::size_t kShown = 20;
  const std::string& unit = emb.duplicate_position;
  md.paragraph(fmt::format(
      "Duplicate tokens: {} later occurrence(s) dropped, the first kept (embeddings.duplicates = "
      "first, as gensim){}.",
      emb.duplicates.size(),
      emb.duplicates.size() > kShown ? fmt::format("; the first {} below, all in `/embeddings/duplicates`", kShown)
                                     : ""));
  std::vector<std::vector<std::string>> rows;
  for (std::size_t i = 0; i < emb.duplicates.size() && i < kShown; ++i) {
    const auto& d = emb.duplicates[i];
    rows.push_back({io::quote_bytes(d.token), std::to_string(d.at), std::to_string(d.first_at)});
  }
  md.table({"token", "dropped at " + unit, "first at " + unit}, rows);
}

// --- provenance -----------------------------------------------------------------------------

void write_meta(io::H5ResultWriter& h5, const RawConfig& raw, const std::string& resolved, std::uint64_t seed,
                int threads, const std::string& started, const std::string& finished, double seconds,
                const std::vector<InputFile>& inputs) {
  const auto v = library_versions();
  h5.attr("/meta", "config_text", raw.text);
  h5.attr("/meta", "config_path", raw.path);
  h5.attr("/meta", "config_sha256", sha256_hex(raw.text));
  h5.attr("/meta", "resolved_config", resolved);
  h5.attr("/meta", "seed", static_cast<std::int64_t>(seed));
  h5.attr("/meta", "git_commit", git_commit());
  h5.attr("/meta", "git_dirty", static_cast<std::int64_t>(git_dirty() ? 1 : 0));
  h5.attr("/meta", "compiler", compiler_string());
  h5.attr("/meta", "compiler_flags", compiler_flags());
  h5.attr("/meta", "embedlab_version", v.embedlab);
  h5.attr("/meta", "armadillo_version", v.armadillo);
  h5.attr("/meta", "openblas_version", v.openblas);
  h5.attr("/meta", "hdf5_version", v.hdf5);
  h5.attr("/meta", "boost_version", v.boost);
  h5.attr("/meta", "fmt_version", v.fmt);
  h5.attr("/meta", "host_cpu", host_cpu());
  h5.attr("/meta", "hostname", hostname_string());
  h5.attr("/meta", "threads", static_cast<std::int64_t>(threads));
  h5.attr("/meta", "started_utc", started);
  h5.attr("/meta", "finished_utc", finished);
  h5.attr("/meta", "wall_seconds", seconds);
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    const std::string g = fmt::format("/meta/inputs/{}", i);
    const auto& in = inputs[i];
    h5.attr(g, "path", in.path);
    h5.attr(g, "format", in.format);
    h5.attr(g, "dtype", in.dtype);
    h5.attr(g, "shape", fmt::format("[{}]", fmt::join(in.shape, ",")));
    h5.attr(g, "sha256", in.sha256);
    h5.attr(g, "sha256_source", std::string(in.sha256_cached ? "hash cache" : "computed"));
  }
}

std::string meta_markdown(const RawConfig& raw, const std::string& resolved, std::uint64_t seed, int threads,
                          const std::string& started, const std::string& finished, double seconds,
                          const std::vector<InputFile>& inputs) {
  const auto v = library_versions();
  report::Markdown md;
  md.heading(2, "Provenance");
  md.bullet(fmt::format("config: `{}` (sha256 `{}`)", raw.path, sha256_hex(raw.text)));
  md.bullet(fmt::format("seed: {}; threads: {}", seed, threads));
  md.bullet(fmt::format("embedlab {} (git {}{}), {} [{}]", v.embedlab, git_commit(), git_dirty() ? ", dirty" : "",
                        compiler_string(), compiler_flags()));
  md.bullet(fmt::format("Armadillo {}, OpenBLAS {}, HDF5 {}, Boost {}, fmt {}", v.armadillo, v.openblas, v.hdf5,
                        v.boost, v.fmt));
  md.bullet(fmt::format("host: {} ({})", hostname_string(), host_cpu()));
  md.bullet(fmt::format("started {}, finished {}, wall time {:.2f} s", started, finished, seconds));
  for (const auto& in : inputs) {
    std::string shape;
    for (std::size_t k = 0; k < in.shape.size(); ++k) shape += (k ? "×" : "") + std::to_string(in.shape[k]);
    md.bullet(fmt::format("input `{}`: {} {} [{}], sha256 `{}`{}", in.path, in.format, in.dtype, shape, in.sha256,
                          in.sha256_cached ? " (from the hash cache, EMBEDLAB_HASH_CACHE)" : ""));
  }
  md.paragraph("");
  md.paragraph("<details><summary>Config (verbatim) and resolved config</summary>\n");
  md.code(raw.text, "ini");
  md.code(resolved, "ini");
  md.paragraph("</details>");
  return md.text();
}

struct Validated {
  RawConfig raw;
  std::unique_ptr<Experiment> exp;
  Pipeline pipeline;
  std::vector<KeyDecl> keys;  // every key in force (pipeline + experiment)
};

Validated validate(const Registry& registry, const RunOptions& o) {
  std::vector<std::string> problems;
  Validated v;
  v.raw = read_ini(o.config_path, problems);
  apply_overrides(v.raw, o.sets, problems);
  const auto name_it = v.raw.entries.find("experiment.name");
  if (name_it != v.raw.entries.end()) {
    v.exp = make_experiment(registry, name_it->second.value);
    if (!v.exp) {
      const auto names = experiment_names(registry);
      const std::string near = nearest_key(name_it->second.value, names);
      std::string all;
      for (const auto& n : names) all += (all.empty() ? "" : "|") + n;
      problems.push_back(fmt::format("{}: experiment.name: unknown experiment (got '{}', expected one of {}){}",
                                     name_it->second.origin, name_it->second.value, all,
                                     near.empty() ? "" : fmt::format(" — did you mean '{}'?", near)));
    }
  }
  const Stage stage = v.exp ? v.exp->embeddings_stage() : Stage::none;
  Schema<Pipeline> pipeline;
  declare_pipeline(pipeline, stage);
  std::vector<std::string> unused;
  for (const auto& [k, e] : v.raw.entries) unused.push_back(k);
  pipeline.apply(v.raw, v.pipeline, problems, unused);
  v.keys = pipeline.keys();
  if (v.exp) {
    v.exp->configure(v.raw, problems, unused);
    const auto ek = v.exp->keys();
    v.keys.insert(v.keys.end(), ek.begin(), ek.end());
  }
  if (v.exp || name_it == v.raw.entries.end()) {
    std::vector<std::string> declared;
    for (const auto& k : v.keys) declared.push_back(k.name);
    for (const auto& k : unused) {
      const auto& e = v.raw.entries.at(k);
      const std::string near = nearest_key(k, declared);
      problems.push_back(fmt::format("{}: {}: unknown key{}", e.origin, k,
                                     near.empty() ? "" : fmt::format(" (did you mean '{}'?)", near)));
    }
  }
  // Input files named by path keys must exist.
  for (const auto& k : v.keys) {
    if (!k.input_path) continue;
    const auto it = v.raw.entries.find(k.name);
    const std::string value = it != v.raw.entries.end() ? it->second.value : k.default_value;
    if (value.empty()) continue;
    if (!fs::exists(value))
      problems.push_back(fmt::format("{}: {}: input not found (got '{}'{})",
                                     it != v.raw.entries.end() ? it->second.origin : v.raw.path, k.name, value,
                                     value.starts_with("data/") ? "; run `make fetch` to download the real data" : ""));
  }
  if (!problems.empty()) throw ConfigError(problems);
  return v;
}

// --- memory guard ---------------------------------------------------------------------------

// The estimate of a validated run: the [embeddings] stage's matrices (as read, then E and its unit
// copy) and the experiment's own allocations, from shapes probed without loading the data.
MemoryEstimate estimate_memory(const Validated& v, const RunOptions& o, int threads) {
  MemoryEstimate m;
  m.limit = o.max_memory ? MemoryLimit{*o.max_memory, "--max-memory"} : default_memory_limit();
  Shapes shapes;
  shapes.workers = threads;
  const auto& p = v.pipeline;
  if (v.exp->embeddings_stage() != Stage::none && !p.path.empty()) {
    io::LoadOptions lo;
    lo.path = p.path;
    lo.format = p.format;
    lo.tensor = p.tensor;
    lo.matrix = p.matrix == "input" ? "" : p.matrix;
    if (p.limit > 0) lo.limit = static_cast<std::uint64_t>(p.limit);
    const MatrixShape s = shapes.of(lo);
    shapes.embeddings = s;
    const double cell = 4.0 * static_cast<double>(s.dim);  // one float32 row
    if (s.read_rows > s.rows)                              // read whole, then the first rows copied out
      m.allocations.push_back({cell * static_cast<double>(s.read_rows + s.rows),
                               fmt::format("embeddings as read, {} float32 ({}; embeddings.limit applies after)",
                                           dims(s.read_rows, s.dim), s.how),
                               "embeddings.path", "use a smaller file"});
    const bool abtt = p.transform == "all_but_the_top";
    m.allocations.push_back({cell * static_cast<double>(s.rows) * (abtt ? 3 : 2),
                             fmt::format("embeddings E and its unit copy{}, {} float32 each ({})",
                                         abtt ? " and the all-but-the-top result" : "", dims(s.rows, s.dim), s.how),
                             "embeddings.limit", "set or lower it"});
  }
  v.exp->memory(shapes, m.allocations);
  return m;
}

// Throws ConfigError (exit 78) with one line naming the key of the largest allocation over the limit.
void check_memory(const MemoryEstimate& m, const Validated& v) {
  const Allocation* over = nullptr;
  for (const auto& a : m.allocations)
    if (a.bytes > static_cast<double>(m.limit.bytes) && (!over || a.bytes > over->bytes)) over = &a;
  if (!over) return;
  const auto it = v.raw.entries.find(over->key);
  const std::string origin = it != v.raw.entries.end() ? it->second.origin : v.raw.path;
  throw ConfigError({fmt::format("{}: {}: needs {} for {} (limit {} from {}); {} or raise --max-memory", origin,
                                 over->key, format_bytes(over->bytes), over->what,
                                 format_bytes(static_cast<double>(m.limit.bytes)), m.limit.source, over->change)});
}

}  // namespace

std::unique_ptr<Experiment> make_experiment(const Registry& registry, const std::string& name) {
  for (const auto& e : registry)
    if (name == e.name) return e.make();
  return nullptr;
}

std::vector<KeyDecl> pipeline_keys(Stage stage) {
  Schema<Pipeline> s;
  declare_pipeline(s, stage);
  return s.keys();
}

Checked check_config(const Registry& registry, const RunOptions& o) {
  Validated v = validate(registry, o);
  const int threads = o.threads.value_or(std::max(1, static_cast<int>(std::thread::hardware_concurrency())));
  check_memory(estimate_memory(v, o, threads), v);
  return {v.exp->name(), v.keys};
}

// Under mpirun every rank runs the same experiment code (the distributed parts — all-pairs, top-k,
// permutations, bootstraps, cells, analogy sections — split over comm::world() and gather their
// results on every rank), but only rank 0 writes: it alone makes the run directory, run.json, the
// plots, report.md and results.h5. The other ranks build results.h5 in memory only (discarded),
// draw no plots and create nothing on disk.
RunOutcome run(const Registry& registry, const RunOptions& options) {
  const RunOptions& o = options;
  const bool writer = comm::world().root();
  Progress::set_quiet(o.quiet || !writer);
  Validated v = validate(registry, o);
  if (!writer) v.pipeline.plots = false;
  const std::string resolved = render_ini(v.keys, v.raw);
  RunOutcome outcome;
  outcome.experiment = v.exp->name();
  const int threads = o.threads.value_or(std::max(1, static_cast<int>(std::thread::hardware_concurrency())));
  // Before anything large is allocated (and before the run directory exists): a config whose
  // estimate exceeds the limit is a config error naming the key to change.
  const MemoryEstimate memory = estimate_memory(v, o, threads);
  if (o.dry_run) {
    if (comm::world().root()) {
      fmt::print("# resolved config of {} (experiment {})\n{}", o.config_path, v.exp->name(), resolved);
      fmt::print("{}\n", memory.line(v.exp->name()));
      std::fflush(stdout);
    }
    check_memory(memory, v);
    return outcome;
  }
  check_memory(memory, v);
  set_threads(threads);
  const std::uint64_t seed = o.seed.value_or(static_cast<std::uint64_t>(v.pipeline.seed));

  // The run id's random suffix comes from the clock, not from the run's seed, so two runs with
  // the same seed still get different directories.
  Rng naming(static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count()) ^
             (static_cast<std::uint64_t>(::getpid()) << 32));
  RunState state;
  state.experiment = v.exp->name();
  state.config_path = o.config_path;
  state.started = utc_now_iso8601();
  if (writer) {
    state.run_dir = make_run_dir(o.results_dir, state.experiment, naming, state.run_id, [&](const std::string& id) {
      state.run_id = id;
      return run_json_text(state, "RUNNING", "", 0, "");
    });
    state.run_json = (fs::path(state.run_dir) / "run.json").string();
    outcome.run_dir = state.run_dir;
    if (o.on_run_dir) o.on_run_dir(state.run_dir);
    arm_signals(state);
  }

  report::Laps laps;  // prepare (load + normalise), then run (the experiment: kernels, tables, plots)
  try {
    std::vector<InputFile> inputs;
    io::H5ResultWriter h5((fs::path(state.run_dir) / "results.h5").string(), writer);
    report::Markdown body;
    report::Plotter plots(writer ? state.run_dir : std::string("."), v.pipeline.plots);  // others: disabled
    std::optional<Prepared> prepared;
    if (v.exp->embeddings_stage() != Stage::none && !v.pipeline.path.empty())
      prepared = prepare(v.pipeline, v.exp->matrices() == Matrices::unit_and_raw, inputs);
    laps.lap("prepare");

    Context ctx;
    ctx.data = prepared ? &*prepared : nullptr;
    ctx.rng = Rng(seed);
    ctx.h5 = &h5;
    ctx.md = &body;
    ctx.plots = &plots;
    ctx.run_dir = state.run_dir;
    ctx.threads = threads;
    ctx.inputs = &inputs;
    ctx.config_path = o.config_path;
    if (prepared) {
      const auto& p = *prepared;
      h5.attr("/embeddings", "rows", static_cast<std::int64_t>(p.unit.n_cols));
      h5.attr("/embeddings", "dim", static_cast<std::int64_t>(p.unit.n_rows));
      h5.attr("/embeddings", "excluded_rows", static_cast<std::int64_t>(p.excluded.size()));
      h5.attr("/embeddings", "transform", p.transform);
      if (!p.excluded.empty())
        h5.write("/embeddings/excluded", p.excluded, {"1", "rows dropped by normalize.bad_rows = exclude"});
      write_duplicates(h5, p.emb, v.pipeline.duplicates);
    }
    v.exp->run(ctx);

    laps.lap("run");
    const double prepare_seconds = laps.stages()[0].second, run_seconds = laps.stages()[1].second;
    const double seconds = prepare_seconds + run_seconds;
    const std::string finished = utc_now_iso8601();
    write_meta(h5, v.raw, resolved, seed, threads, state.started, finished, seconds, inputs);
    h5.attr("/meta", "prepare_seconds", prepare_seconds);
    h5.attr("/meta", "run_seconds", run_seconds);
    if (const Allocation* big = memory.largest()) {
      h5.attr("/meta", "memory_largest_bytes", big->bytes);
      h5.attr("/meta", "memory_largest", big->what);
      h5.attr("/meta", "memory_largest_key", big->key);
    }
    h5.attr("/meta", "memory_limit_bytes", static_cast<double>(memory.limit.bytes));
    h5.attr("/meta", "memory_limit_source", memory.limit.source);
    h5.commit();

    report::Markdown md;
    md.heading(1, fmt::format("{} — {}", state.experiment, v.exp->summary()));
    md.paragraph(
        fmt::format("Run `{}`; results in `results.h5` (datasets described by their `description` and "
                    "`units` attributes); wall time {:.2f} s (load and normalise {:.2f} s, experiment {:.2f} s).",
                    state.run_id, seconds, prepare_seconds, run_seconds));
    if (prepared) {
      const auto& p = *prepared;
      md.paragraph(fmt::format("Embeddings: `{}` — {} rows × {} dimensions ({} {}); excluded rows: {}; transform: {}.",
                               p.emb.source.path, p.unit.n_cols, p.unit.n_rows, p.emb.source.format, p.emb.source.dtype,
                               p.excluded.size(), p.transform));
      if (!p.emb.duplicates.empty()) duplicates_markdown(md, p.emb);
    }
    md.paragraph(memory.line(v.exp->name()) + ".");
    if (!writer) return outcome;
    write_file_atomic((fs::path(state.run_dir) / "report.md").string(),
                      md.text() + body.text() +
                          meta_markdown(v.raw, resolved, seed, threads, state.started, finished, seconds, inputs));
    write_file_atomic(state.run_json, run_json_text(state, "COMPLETED", finished, 0, ""));
    point_latest(o.results_dir, state.experiment, state.run_id);
  } catch (const Error& e) {
    if (writer) {
      disarm_signals();
      write_file_atomic(state.run_json, run_json_text(state, "FAILED", utc_now_iso8601(), e.exit_code(), e.what()));
    }
    throw;
  } catch (const std::exception& e) {
    if (writer) {
      disarm_signals();
      write_file_atomic(state.run_json, run_json_text(state, "FAILED", utc_now_iso8601(), 70, e.what()));
    }
    throw;
  }
  if (writer) disarm_signals();
  return outcome;
}

std::string help_config(const Registry& registry, const std::string& name) {
  auto exp = make_experiment(registry, name);
  if (!exp) {
    std::string all;
    for (const auto& n : experiment_names(registry)) all += (all.empty() ? "" : "|") + n;
    throw Error(Exit::usage,
                fmt::format("--help-config: unknown experiment (got '{}', expected one of {})", name, all));
  }
  auto keys = pipeline_keys(exp->embeddings_stage());
  const auto ek = exp->keys();
  keys.insert(keys.end(), ek.begin(), ek.end());
  std::string out = fmt::format("{} — {}\n\n", exp->name(), exp->summary());
  for (const auto& k : keys) {
    out += fmt::format("{}  ({}{}{})\n    {}\n", k.name, type_name(k.type),
                       k.is_required ? ", required" : fmt::format(", default '{}'", k.default_value),
                       k.constraint().empty() ? "" : ", " + k.constraint(), k.help);
  }
  return out;
}

std::string config_reference_markdown(const Registry& registry) {
  std::string out;
  for (const auto& e : registry) {
    auto exp = e.make();
    auto keys = pipeline_keys(exp->embeddings_stage());
    const auto ek = exp->keys();
    keys.insert(keys.end(), ek.begin(), ek.end());
    out += fmt::format("#### `{}` — {}\n\n| key | type | default | allowed | description |\n|---|---|---|---|---|\n",
                       exp->name(), exp->summary());
    for (const auto& k : keys) {
      std::string help = k.help;
      std::replace(help.begin(), help.end(), '|', '/');
      out += fmt::format(
          "| `{}` | {} | {} | {} | {} |\n", k.name, type_name(k.type),
          k.is_required ? "*required*" : (k.default_value.empty() ? "(empty)" : "`" + k.default_value + "`"),
          k.constraint(), help);
    }
    out += "\n";
  }
  return out;
}

int check_results(const std::string& results_dir) {
  int problems = 0;
  std::error_code ec;
  if (!fs::is_directory(results_dir, ec)) fail(Exit::no_input, results_dir, "", "not a directory");
  std::vector<fs::path> runs;
  for (const auto& exp : fs::directory_iterator(results_dir, ec)) {
    if (!exp.is_directory() || exp.is_symlink()) continue;
    for (const auto& run : fs::directory_iterator(exp.path(), ec)) {
      if (!run.is_directory() || run.is_symlink()) continue;
      if (run.path().filename().string().starts_with(".staging-")) {
        fmt::print("{}: ABANDONED (a run killed before it started; safe to delete)\n", run.path().string());
        ++problems;
      } else if (fs::exists(run.path() / "run.json")) {
        runs.push_back(run.path());
      }
    }
  }
  std::sort(runs.begin(), runs.end());
  for (const auto& run : runs) {
    nlohmann::json j;
    try {
      std::ifstream in(run / "run.json");
      j = nlohmann::json::parse(in);
    } catch (const std::exception&) {
      fmt::print("{}: run.json unreadable\n", run.string());
      ++problems;
      continue;
    }
    const std::string status = j.value("status", "?");
    if (status == "RUNNING") {
      const long pid = j.value("pid", 0L);
      const bool alive = pid > 0 && ::kill(static_cast<pid_t>(pid), 0) == 0;
      if (!alive) {
        fmt::print("{}: DIED (stale RUNNING, process {} is gone)\n", run.string(), pid);
        ++problems;
      } else {
        fmt::print("{}: RUNNING (process {})\n", run.string(), pid);
      }
      continue;
    }
    if (status == "COMPLETED") {
      try {
        io::H5ResultReader r((run / "results.h5").string());
        (void)r.attr_string("/meta", "config_text");
        fmt::print("{}: COMPLETED, results.h5 ok\n", run.string());
      } catch (const Error& e) {
        fmt::print("{}: COMPLETED but results.h5 is bad: {}\n", run.string(), e.what());
        ++problems;
      }
      continue;
    }
    fmt::print("{}: {} ({})\n", run.string(), status, j.value("error", ""));
  }
  return problems;
}

}  // namespace embedlab::experiment
