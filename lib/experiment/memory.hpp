#pragma once
// Memory guards: before anything large is allocated, every experiment states what its largest
// allocations need, computed from the shapes of its inputs (read from headers, config.json or a
// line count — not from the data), and the runner refuses a config whose need exceeds the limit
// (a config error naming the key to change, never an out-of-memory kill).
#include "io/embedding.hpp"

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace embedlab::experiment {

// The shape load_embeddings would return (rows = tokens, after embeddings.limit), and the shape
// of the matrix the reader allocates on the way (matrix formats are read whole, then cut).
struct MatrixShape {
  std::uint64_t rows = 0, dim = 0;
  std::uint64_t read_rows = 0;  // rows the reader holds at once before the limit is applied
  std::string how;              // "npy header", "config.json", "line count", …
};

// Probes the shape without reading the data where the format allows it: the npy and safetensors
// headers, a GPT-2 directory's config.json, the `count dim` line of word2vec files, a line count of
// GloVe text (streamed, gzip inflated, stopping at the limit). HDF5 is only opened by its isolated
// reader, so its shape is read by loading the dataset (whose size the file bounds). Bad headers
// throw the same Error the reader would.
MatrixShape probe_shape(const io::LoadOptions& options);

// One stage's peak: what is live at once, described, and the config key that bounds it.
struct Allocation {
  double bytes = 0;
  std::string what;                 // "Gram 50257×768 float64"
  std::string key;                  // the key to change, e.g. "words.count"
  std::string change = "lower it";  // what to do with the key, in the error line
};

// What a memory() function sees: the [embeddings] stage's shape when the experiment has one, the
// worker count, and a probe for inputs the experiment reads itself (cached per path).
class Shapes {
 public:
  std::optional<MatrixShape> embeddings;
  int workers = 1;
  MatrixShape of(const io::LoadOptions& options) const;

 private:
  mutable std::map<std::string, MatrixShape> cache_;
};

// SIZE for --max-memory: plain bytes or a number with K, M, G, T (powers of 1024, optional
// trailing B or iB, decimals allowed: 1.5G). Throws Error(usage) naming the text.
std::uint64_t parse_size(std::string_view text);
// "9.4 GiB", "512.0 KiB", "17 bytes".
std::string format_bytes(double bytes);
// "50257×768".
std::string dims(std::uint64_t rows, std::uint64_t cols);

struct MemoryLimit {
  std::uint64_t bytes = 0;
  std::string source;  // "80% of MemAvailable" or "--max-memory"
};
// 80% of MemAvailable from /proc/meminfo (`meminfo` overrides the file for tests); without the
// file, no limit (bytes = UINT64_MAX, source says so).
MemoryLimit default_memory_limit(const std::string& meminfo = "/proc/meminfo");

// The estimate of one run: every stage's allocation, the largest, and the limit it is held to.
struct MemoryEstimate {
  std::vector<Allocation> allocations;
  MemoryLimit limit;
  const Allocation* largest() const;
  // "memory: largest allocation 9.4 GiB (vocab_geometry: …), limit 18.7 GiB (80% of MemAvailable)"
  std::string line(const std::string& experiment) const;
};

}  // namespace embedlab::experiment
