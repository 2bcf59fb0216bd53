#pragma once
// Sweeps: `run_experiment CONFIG --sweep key=v1,v2 [--sweep key2=…]` runs the Cartesian grid of the
// values, one ordinary run per grid point (results/<experiment>/<run-id>/, written by the process
// that runs it), and keeps a sweep directory results/<experiment>/sweep-<id>/:
//   sweep.json          the grid (experiment, config sha256, base overrides, axes, points) — the id's input
//   points/<point>.json one record per point that ran: status, run id, error, seconds, headline scalars
//   sweep.h5, SUMMARY.md (+ plots)  rebuilt from every record present, under a lock, atomically
// The id is a hash of the experiment, the resolved base config (swept keys left out), --seed and the
// axes, so running the same sweep again finds the same directory: completed points are skipped
// (resume), failed and missing ones run again. Shards (--shard I/N, Slurm job arrays) and MPI ranks
// each run a fixed share of the points (point p belongs to share p mod N).
#include "experiment/runner.hpp"

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace embedlab::io {
class H5ResultReader;
}

namespace embedlab::experiment::sweep {

// One swept key and its values, in the order given.
struct Axis {
  std::string key;
  std::vector<std::string> values;
};

// One grid point: its index in grid order, its id ("p03") and one value per axis (axis order).
struct Point {
  std::size_t index = 0;
  std::string id;
  std::vector<std::string> values;
};

// `key=v1,v2,…`; the values are split on ';' instead when the text holds one (a value that itself
// contains commas: a list-valued key such as `sweep.dims=2,4;8,16`, or a path). Error(usage).
Axis parse_axis(const std::string& arg);

// Every problem of the axes at once (ConfigError, exit 78), one line each naming the key: an
// undeclared key (with the nearest declared one), a key swept twice, a repeated value, and every
// value parsed through the key's declaration (type, range, allowed set).
void validate_axes(const std::vector<Axis>& axes, const std::vector<KeyDecl>& keys);

// The Cartesian product in grid order: the last axis varies fastest. Ids are "p" + the index,
// zero-padded to the width of the largest index.
std::vector<Point> expand(const std::vector<Axis>& axes);

// A share of the points: point p belongs to share p mod count (0-based index).
struct Share {
  std::size_t index = 0, count = 1;
  bool has(std::size_t point) const { return point % count == index; }
};
// "I/N" with 1 ≤ I ≤ N (Error(usage) otherwise).
Share parse_shard(const std::string& text);
// The Slurm job-array share: SLURM_ARRAY_TASK_ID − SLURM_ARRAY_TASK_MIN (0 when unset), divided by
// SLURM_ARRAY_TASK_STEP when set, of SLURM_ARRAY_TASK_COUNT tasks; nothing without
// SLURM_ARRAY_TASK_COUNT. Error(usage) when the values are not integers or the task falls outside.
std::optional<Share> shard_from_env(const std::function<const char*(const char*)>& getenv);
// The share of one of `size` ranks inside a share: share.index + rank·share.count of share.count·size.
Share split(Share share, int rank, int size);

// A headline scalar of an experiment: a name (sweep.h5 /headlines/<name>, a SUMMARY.md column) and
// where it is read in the run's results.h5:
//   "/group@attr"        a numeric attribute
//   "/path/dataset"      a dataset of one element
//   "/path/dataset[i]"   element i (row-major; negative counts from the end)
//   "mean(/path/dataset)", "min(…)", "max(…)", "sum(…)"  over every element (NaN elements included)
struct Headline {
  std::string name, source, description;
};
// Experiment name → its headlines (the table is experiments/headlines.cpp).
using HeadlineTable = std::map<std::string, std::vector<Headline>>;

// The value of `source` in `r` (Error(data) naming the source when it is absent or malformed).
double read_headline(const io::H5ResultReader& r, const std::string& source);

struct Options {
  RunOptions run;                    // the config, --set, --results, --threads, --seed, … of every point
  std::vector<std::string> sweeps;   // --sweep key=values (at least one)
  std::vector<std::string> plots;    // --sweep-plot key:headline
  std::optional<std::string> shard;  // --shard I/N
  std::function<const char*(const char*)> getenv;  // the environment (Slurm); null: none
};

struct Outcome {
  std::string dir;  // the sweep directory (empty for a dry run)
  std::size_t points = 0, ran = 0, completed = 0, failed = 0, skipped = 0;
  int exit_code = 0;  // 0, or the exit code of the first point (grid order) that failed in this process
};

// Validates the axes and every point's config (nothing runs when any is bad: ConfigError), then
// runs this process's share of the points that are not completed yet, records each, and rebuilds
// the summary. A failing point is recorded FAILED with its one-line error and the others go on.
// `--dry-run` prints the grid and stops.
Outcome run(const Registry& registry, const HeadlineTable& headlines, const Options& options);

}  // namespace embedlab::experiment::sweep
