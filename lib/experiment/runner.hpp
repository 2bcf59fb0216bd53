#pragma once
// The runner: load → validate → (load embeddings → normalise) → run → write report, with a run
// directory per run, run.json status lifecycle, provenance and atomic writes.
#include "experiment/experiment.hpp"

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace embedlab::experiment {

struct RunOptions {
  std::string config_path;
  std::vector<std::string> sets;  // section.key=value
  std::string results_dir = "results";
  std::optional<int> threads;
  std::optional<std::uint64_t> seed;
  bool dry_run = false;
  bool quiet = false;
  std::optional<std::uint64_t> max_memory;  // --max-memory; default: 80% of MemAvailable
  // Called once the run directory exists (with its run.json), before anything is computed: a sweep
  // records the run id of a point even when the run then fails.
  std::function<void(const std::string& run_dir)> on_run_dir;
};

struct RunOutcome {
  std::string run_dir;  // empty for dry runs
  std::string experiment;
};

// The shared pipeline keys ([experiment], [embeddings], [normalize], [report]) for a stage.
std::vector<KeyDecl> pipeline_keys(Stage embeddings_stage);

// Validates everything (throws ConfigError listing all problems, exit 78), checks the memory the
// experiment will need against the limit (ConfigError naming the key to change, exit 78), then runs.
RunOutcome run(const Registry& registry, const RunOptions& options);

// What run() checks before it creates anything (validation and the memory guard), alone: throws
// ConfigError like run(); returns the experiment's name and every declared key (pipeline + experiment).
struct Checked {
  std::string experiment;
  std::vector<KeyDecl> keys;
};
Checked check_config(const Registry& registry, const RunOptions& options);

// `--help-config NAME` text and the README table (Markdown) from the declarations.
std::string help_config(const Registry& registry, const std::string& name);
std::string config_reference_markdown(const Registry& registry);

// `--check DIR`: lists runs that died (stale RUNNING) and verifies every completed results.h5
// opens. Returns the number of problems found.
int check_results(const std::string& results_dir);

}  // namespace embedlab::experiment
