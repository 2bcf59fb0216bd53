// libFuzzer target: the INI config front end in process: read_ini (our line index + Boost's
// parser), --set overrides, a Schema with one key of every type, the resolved-config rendering and
// the "did you mean" suggestion — what run_experiment --dry-run does before any experiment code.
#include "experiment/config.hpp"
#include "fuzz_inputs.hpp"
#include "fuzz_main.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace {

using namespace embedlab::experiment;

struct Toy {
  std::int64_t n = 0;
  double x = 0;
  bool flag = false;
  std::string mode, file;
  std::vector<std::int64_t> dims;
  std::vector<double> weights;
  std::vector<std::string> words;
};

const Schema<Toy>& schema() {
  static const Schema<Toy> s = [] {
    Schema<Toy> s;
    s.key("experiment.name", &Toy::mode, "", "name").required();
    s.key("sweep.n", &Toy::n, "10", "count").range(1, 1000000);
    s.key("sweep.x", &Toy::x, "0.5", "fraction").range(0, 1);
    s.key("sweep.flag", &Toy::flag, "true", "switch");
    s.key("sweep.mode", &Toy::mode, "fast", "mode").one_of({"fast", "exact"});
    s.path("embeddings.path", &Toy::file, "", "a file");
    s.key("sweep.dims", &Toy::dims, "2,16", "dimensions").min(1).non_empty();
    s.key("sweep.weights", &Toy::weights, "", "weights").range(-1, 1);
    s.key("words.list", &Toy::words, "cat,dog", "words");
    return s;
  }();
  return s;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return embedlab::fuzz::guarded([&] {
    const std::string path = embedlab::fuzz::scratch_file("config.ini", data, size);
    std::vector<std::string> problems;
    RawConfig raw = read_ini(path, problems);
    apply_overrides(raw, {"sweep.n=7", "sweep.dims=3,4", "bogus"}, problems);
    std::vector<std::string> unused;
    for (const auto& [k, v] : raw.entries) unused.push_back(k);
    Toy cfg;
    schema().apply(raw, cfg, problems, unused);
    std::vector<std::string> names;
    for (const auto& d : schema().keys()) names.push_back(d.name);
    for (const auto& k : unused) (void)nearest_key(k, names);
    (void)render_ini(schema().keys(), raw);
    if (!problems.empty()) throw ConfigError(problems);
  });
}
