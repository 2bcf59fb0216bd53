#include "experiment/memory.hpp"

#include "core/error.hpp"
#include "io/gpt2_checkpoint.hpp"
#include "io/model_presets.hpp"
#include "io/readers.hpp"
#include "io/text_util.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>

namespace embedlab::experiment {

namespace fs = std::filesystem;

namespace {

std::vector<std::string> fields(std::string_view line) {
  std::vector<std::string> out;
  std::size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r')) ++i;
    const std::size_t b = i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t' && line[i] != '\r') ++i;
    if (i > b) out.emplace_back(line.substr(b, i - b));
  }
  return out;
}

std::optional<std::uint64_t> unsigned_field(const std::string& s) {
  std::uint64_t v = 0;
  const auto r = std::from_chars(s.data(), s.data() + s.size(), v);
  if (r.ec != std::errc() || r.ptr != s.data() + s.size()) return std::nullopt;
  return v;
}

// The first line of a word file (decompressed), without its newline.
std::string first_line(io::detail::ByteStream& in) {
  for (std::size_t want = 4096;; want *= 2) {
    const bool more = in.fill(want);
    const auto w = in.window();
    const auto nl = w.find('\n');
    if (nl != std::string_view::npos) return std::string(w.substr(0, nl));
    if (!more || want > (std::size_t{1} << 30)) return std::string(w);
  }
}

MatrixShape probe_word_text(const std::string& path, std::optional<std::uint64_t> limit) {
  io::detail::ByteStream in(path);
  const std::string head = first_line(in);
  const auto f = fields(head);
  MatrixShape s;
  if (f.size() == 2 && unsigned_field(f[0]) && unsigned_field(f[1])) {  // word2vec text: `count dim`
    s.rows = *unsigned_field(f[0]);
    s.dim = *unsigned_field(f[1]);
    s.how = "word2vec header";
  } else {
    // GloVe: no header; the vector is the last fields of each line. Count the lines (streamed,
    // stopping at the limit).
    if (f.size() < 2) data_error(path, "line 1", "cannot tell the dimension (expected `word v1 … vd`)");
    s.dim = f.size() - 1;
    std::uint64_t lines = 0;
    bool open_line = false;  // bytes after the last newline
    const std::uint64_t stop = limit.value_or(std::numeric_limits<std::uint64_t>::max());
    while (lines < stop) {
      const auto w = in.window();
      for (const char *p = w.data(), *e = w.data() + w.size(); p < e;) {
        const void* nl = std::memchr(p, '\n', static_cast<std::size_t>(e - p));
        if (!nl) {
          open_line = true;
          break;
        }
        ++lines;
        open_line = false;
        p = static_cast<const char*>(nl) + 1;
      }
      in.consume(w.size());
      if (!in.more()) break;
    }
    if (open_line && lines < stop) ++lines;
    s.rows = lines;
    s.how = in.gzip() ? "line count (gzip)" : "line count";
  }
  if (limit) s.rows = std::min(s.rows, *limit);
  s.read_rows = s.rows;
  return s;
}

MatrixShape probe_word2vec_bin(const std::string& path, std::optional<std::uint64_t> limit) {
  io::detail::ByteStream in(path);
  const auto f = fields(first_line(in));
  if (f.size() != 2 || !unsigned_field(f[0]) || !unsigned_field(f[1]))
    data_error(path, "header", "expected `count dim` on the first line");
  MatrixShape s;
  s.rows = *unsigned_field(f[0]);
  s.dim = *unsigned_field(f[1]);
  if (limit) s.rows = std::min(s.rows, *limit);
  s.read_rows = s.rows;
  s.how = "word2vec header";
  return s;
}

MatrixShape probe_safetensors(const std::string& path, const std::string& tensor) {
  const auto index = io::read_safetensors_index(path);
  const io::SafetensorsEntry* e = nullptr;
  if (!tensor.empty()) {
    e = index.find(tensor);
    if (!e) data_error(path, tensor, "no such tensor");
  } else {
    for (const auto& t : index.tensors)
      if (t.shape.size() == 2) {
        if (e) data_error(path, "", "several rank-2 tensors; name one (embeddings.tensor)");
        e = &t;
      }
    if (!e) data_error(path, "", "no rank-2 tensor");
  }
  if (e->shape.size() != 2) data_error(path, e->name, fmt::format("rank {} (expected 2)", e->shape.size()));
  MatrixShape s;
  s.rows = s.read_rows = e->shape[0];
  s.dim = e->shape[1];
  s.how = "safetensors header";
  return s;
}

MatrixShape probe_gpt2(const std::string& dir, const std::string& tensor, const std::string& matrix) {
  const auto cfg = io::read_gpt2_config((fs::path(dir) / "config.json").string());
  std::string which = tensor.empty() ? "wte" : tensor;
  if (!matrix.empty()) which = matrix == "input" ? "wte" : matrix == "output" ? "lm_head" : "wpe";
  MatrixShape s;
  s.dim = static_cast<std::uint64_t>(cfg.n_embd);
  s.rows = static_cast<std::uint64_t>(which == "wpe" ? cfg.n_positions : cfg.vocab_size);
  s.read_rows = s.rows;
  if (which != "wte" && which != "wpe") {  // lm_head: the loader keeps every tensor
    double params = 0;
    for (const auto& [name, shape] : io::gpt2_expected_tensors(cfg)) {
      double p = 1;
      for (auto x : shape) p *= static_cast<double>(x);
      params += p;
    }
    if (!cfg.tie_word_embeddings) params += static_cast<double>(s.rows) * static_cast<double>(s.dim);
    s.read_rows = static_cast<std::uint64_t>(std::ceil(params / std::max<double>(1, static_cast<double>(s.dim))));
  }
  s.how = "config.json";
  return s;
}

}  // namespace

MatrixShape probe_shape(const io::LoadOptions& o) {
  if (!fs::exists(o.path)) fail(Exit::no_input, o.path, "", "no such file or directory");
  const std::string format = o.format == "auto" ? io::detect_format(o.path) : o.format;
  MatrixShape s;
  if (format == "glove" || format == "word2vec") return probe_word_text(o.path, o.limit);
  if (format == "word2vec-bin") return probe_word2vec_bin(o.path, o.limit);
  if (format == "gpt2") {
    s = probe_gpt2(o.path, o.tensor, o.matrix);
  } else if (format == "model") {
    // The matrix's shard header only (config.json and the index name it): no other shard is opened.
    const auto kind = io::parse_matrix_kind(o.matrix.empty() ? "input" : o.matrix);
    if (!kind) fail(Exit::usage, o.path, "matrix", fmt::format("'{}' is not one of {}", o.matrix, io::kMatrixNames));
    const auto info = io::open_model_dir(o.path).matrix(*kind);
    s.rows = s.read_rows = info.shape.at(0);
    s.dim = info.shape.at(1);
    s.how = "safetensors header of " + fs::path(info.shard).filename().string();
  } else if (format == "safetensors") {
    s = probe_safetensors(o.path, o.tensor);
  } else if (format == "npy") {
    const auto h = io::read_npy_header(o.path);
    s.rows = s.read_rows = h.shape.at(0);
    s.dim = h.shape.at(1);
    s.how = "npy header";
  } else if (format == "hdf5") {
    io::LoadOptions whole = o;
    whole.limit.reset();
    const auto emb = io::load_embeddings(whole);
    s.rows = s.read_rows = emb.rows();
    s.dim = emb.dim();
    s.how = "HDF5 dataset (read: HDF5 is opened only by its isolated reader)";
  } else {
    fail(Exit::usage, o.path, "format", fmt::format("'{}' is not a known format", format));
  }
  if (o.limit) s.rows = std::min(s.rows, *o.limit);  // matrix formats are read whole, then cut
  return s;
}

MatrixShape Shapes::of(const io::LoadOptions& o) const {
  const std::string key = fmt::format("{}\n{}\n{}\n{}\n{}", o.path, o.format, o.tensor, o.matrix, o.limit.value_or(0));
  if (auto it = cache_.find(key); it != cache_.end()) return it->second;
  return cache_[key] = probe_shape(o);
}

std::uint64_t parse_size(std::string_view text) {
  const auto bad = [&](const char* why) -> std::uint64_t {
    throw Error(Exit::usage,
                fmt::format("--max-memory: {} (got '{}', expected bytes or a number with K, M, G or T, e.g. 64M, "
                            "1.5G)",
                            why, text));
  };
  std::string s(text);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  std::size_t i = 0;
  while (i < s.size() && (std::isdigit(static_cast<unsigned char>(s[i])) || s[i] == '.')) ++i;
  const std::string number = s.substr(0, i);
  std::string unit = s.substr(i);
  for (auto& ch : unit) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  if (number.empty() || std::count(number.begin(), number.end(), '.') > 1 || number == ".") return bad("not a size");
  double scale = 1;
  if (!unit.empty()) {
    const char u = unit[0];
    const std::string rest = unit.substr(1);
    if (u == 'B' && rest.empty()) {
      scale = 1;
    } else {
      if (rest != "" && rest != "B" && rest != "IB") return bad("unknown unit");
      switch (u) {
        case 'K':
          scale = 1024.0;
          break;
        case 'M':
          scale = 1024.0 * 1024;
          break;
        case 'G':
          scale = 1024.0 * 1024 * 1024;
          break;
        case 'T':
          scale = 1024.0 * 1024 * 1024 * 1024;
          break;
        default:
          return bad("unknown unit");
      }
    }
  }
  double value = 0;
  std::istringstream(number) >> value;
  const double bytes = std::floor(value * scale);
  if (!(bytes >= 1)) return bad("must be at least 1 byte");
  if (bytes >= 0x1p63) return bad("too large");
  return static_cast<std::uint64_t>(bytes);
}

std::string format_bytes(double b) {
  if (b < 1024) return fmt::format("{:.0f} bytes", b);
  const char* units[] = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  int u = -1;
  while (b >= 1024 && u < 5) {
    b /= 1024;
    ++u;
  }
  return fmt::format("{:.1f} {}", b, units[u]);
}

std::string dims(std::uint64_t rows, std::uint64_t cols) { return fmt::format("{}×{}", rows, cols); }

MemoryLimit default_memory_limit(const std::string& meminfo) {
  std::ifstream in(meminfo);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.starts_with("MemAvailable:")) continue;
    std::istringstream ls(line.substr(13));
    std::uint64_t kb = 0;
    if (ls >> kb) return {kb * 1024 / 10 * 8, "80% of MemAvailable"};
  }
  return {std::numeric_limits<std::uint64_t>::max(), fmt::format("none: no MemAvailable in {}", meminfo)};
}

const Allocation* MemoryEstimate::largest() const {
  const Allocation* best = nullptr;
  for (const auto& a : allocations)
    if (!best || a.bytes > best->bytes) best = &a;
  return best;
}

std::string MemoryEstimate::line(const std::string& experiment) const {
  const std::string lim =
      limit.bytes == std::numeric_limits<std::uint64_t>::max()
          ? fmt::format("no limit ({})", limit.source)
          : fmt::format("limit {} ({})", format_bytes(static_cast<double>(limit.bytes)), limit.source);
  const Allocation* a = largest();
  if (!a) return fmt::format("memory: nothing large allocated, {}", lim);
  return fmt::format("memory: largest allocation {} ({}: {}), {}", format_bytes(a->bytes), experiment, a->what, lim);
}

}  // namespace embedlab::experiment
