#pragma once
// An experiment = a typed config struct + its declared keys + a run() that only calls lib/.
// The runner owns the shared pipeline stages ([experiment], [embeddings], [normalize], [report]):
// it loads and normalises the embeddings before run() and writes the report after it.
#include "core/provenance.hpp"
#include "core/rng.hpp"
#include "experiment/config.hpp"
#include "experiment/memory.hpp"
#include "io/embedding.hpp"
#include "io/h5_results.hpp"
#include "report/report.hpp"

#include <armadillo>

#include <memory>
#include <string>
#include <vector>

namespace embedlab::experiment {

enum class Stage { none, optional, required };

// Declared once for every section that names an embedding source ([embeddings] of the runner,
// [space_a]/[space_b] of experiments/word_spaces.hpp): the formats and the matrix key's help.
inline const std::vector<std::string> kEmbeddingFormats = {"auto", "gpt2",  "model",    "safetensors", "npy",
                                                           "hdf5", "glove", "word2vec", "word2vec-bin"};
inline constexpr const char* kMatrixKeyHelp =
    "model directories (any preset: gpt2, gpt_neox, llama, qwen2, bert, opt, phi, ...): input (token embeddings), "
    "output (the unembedding; a tied model's is the input matrix, recorded in the provenance) or position (learned "
    "absolute positions; GPT-2, BERT, OPT)";
inline constexpr const char* kSourceHelp =
    "embedding source: model dir (config.json + safetensors, any preset, sharded ok), .safetensors, .npy, .h5, "
    "GloVe/word2vec text (.gz ok), word2vec .bin";
// The word policies of the experiments that look words up through a model directory's tokenizer.
inline constexpr const char* kLeadingSpaceHelp =
    "encode a word in the tokenizer's word-initial form (' word' byte-level BPE, '▁word' SentencePiece; WordPiece "
    "has none) instead of 'word'";
// Which matrices of the embeddings stage run() reads: the unit vectors only, or the loaded
// vectors (Prepared::emb.vectors) too. The runner keeps only those (emb.vectors is freed otherwise).
enum class Matrices { unit, unit_and_raw };

// What the [normalize] stage produced from the loaded embeddings.
struct Prepared {
  io::Embeddings emb;                 // as loaded (columns = tokens); excluded rows removed; vectors empty
                                      // unless the experiment declared Matrices::unit_and_raw
  arma::fmat unit;                    // d × n unit columns (after the optional transform)
  arma::vec norms;                    // n row norms of the loaded vectors (before any transform)
  std::vector<std::string> excluded;  // "row 17 'foo': zero" — rows dropped by bad_rows = exclude
  std::string transform;              // "none" or a description of the applied transform
};

struct Context {
  const Prepared* data = nullptr;  // null when the experiment has no embeddings stage configured
  Rng rng;
  io::H5ResultWriter* h5 = nullptr;
  report::Markdown* md = nullptr;
  report::Plotter* plots = nullptr;
  std::string run_dir;
  int threads = 1;
  std::vector<InputFile>* inputs = nullptr;  // add every file the experiment reads itself
  std::string config_path;
};

class Experiment {
 public:
  virtual ~Experiment() = default;
  virtual std::string name() const = 0;
  virtual std::string summary() const = 0;
  virtual Stage embeddings_stage() const = 0;
  virtual Matrices matrices() const { return Matrices::unit_and_raw; }
  virtual std::vector<KeyDecl> keys() const = 0;
  virtual void configure(const RawConfig& raw, std::vector<std::string>& problems,
                         std::vector<std::string>& unused) = 0;
  virtual void run(Context& ctx) = 0;
  // The allocations run() will make, from the input shapes (called after configure, before
  // anything is loaded; the runner adds the [embeddings] stage's own matrices).
  virtual void memory(const Shapes& shapes, std::vector<Allocation>& out) const {}
};

// The usual implementation: a config struct, a declare function, a run function and a memory
// function (the allocations run() makes, for the runner's guard).
template <class Config>
class Declared final : public Experiment {
 public:
  using DeclareFn = void (*)(Schema<Config>&);
  using RunFn = void (*)(const Config&, Context&);
  using MemoryFn = void (*)(const Config&, const Shapes&, std::vector<Allocation>&);
  Declared(std::string name, std::string summary, Stage stage, DeclareFn declare, RunFn run, MemoryFn memory,
           Matrices matrices = Matrices::unit_and_raw)
      : name_(std::move(name)),
        summary_(std::move(summary)),
        stage_(stage),
        matrices_(matrices),
        run_(run),
        memory_(memory) {
    declare(schema_);
  }
  std::string name() const override { return name_; }
  std::string summary() const override { return summary_; }
  Stage embeddings_stage() const override { return stage_; }
  Matrices matrices() const override { return matrices_; }
  std::vector<KeyDecl> keys() const override { return schema_.keys(); }
  void configure(const RawConfig& raw, std::vector<std::string>& problems, std::vector<std::string>& unused) override {
    schema_.apply(raw, config_, problems, unused);
  }
  void run(Context& ctx) override { run_(config_, ctx); }
  void memory(const Shapes& shapes, std::vector<Allocation>& out) const override { memory_(config_, shapes, out); }

 private:
  std::string name_, summary_;
  Stage stage_;
  Matrices matrices_;
  Schema<Config> schema_;
  Config config_{};
  RunFn run_;
  MemoryFn memory_;
};

// A registry of experiments by name (the table itself is experiments/registry.cpp).
struct RegistryEntry {
  const char* name;
  std::unique_ptr<Experiment> (*make)();
};
using Registry = std::vector<RegistryEntry>;
std::unique_ptr<Experiment> make_experiment(const Registry& registry, const std::string& name);  // null: unknown

}  // namespace embedlab::experiment
