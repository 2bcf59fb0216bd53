#pragma once
// Helpers for end-to-end tests: run the real binaries into a temporary results directory.
#include "testing.hpp"

#include <fmt/format.h>
#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <string>

namespace embedlab::test {

struct CommandResult {
  int exit_code = -1;
  std::string out, err;
};

// Runs `cmd` through /bin/sh, capturing stdout and stderr.
inline CommandResult run_command(const std::string& cmd, const TempDir& scratch) {
  const std::string out = scratch.file("cmd.stdout"), err = scratch.file("cmd.stderr");
  const int status = std::system(fmt::format("{} >'{}' 2>'{}'", cmd, out, err).c_str());
  CommandResult r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.out = read_file(out);
  r.err = read_file(err);
  return r;
}

inline std::string bin(const std::string& name) { return std::string(EMBEDLAB_BIN_DIR) + "/" + name; }
inline std::string source(const std::string& rel) { return std::string(EMBEDLAB_SOURCE_DIR) + "/" + rel; }

// tests/data/gpt2-golden/tiny-gpt2 with the GPT-2 tokenizer files beside its weights (symlinks in
// `scratch`), as `make fetch` lays out data/gpt2: word lookups read the tokenizer from the
// checkpoint directory.
inline std::string tiny_gpt2_with_tokenizer(const TempDir& scratch) {
  namespace fs = std::filesystem;
  const fs::path dir = scratch.path() / "tiny-gpt2-tok";
  fs::create_directories(dir);
  const std::string model = fixture("gpt2-golden/tiny-gpt2"), tok = fixture("gpt2-tokenizer");
  for (const char* f : {"config.json", "model.safetensors"}) fs::create_symlink(fs::path(model) / f, dir / f);
  for (const char* f : {"encoder.json", "vocab.bpe"}) fs::create_symlink(fs::path(tok) / f, dir / f);
  return dir.string();
}

// The single run directory under results/<experiment>/ (excluding `latest`).
inline std::string only_run_dir(const std::string& results, const std::string& experiment) {
  std::string found;
  for (const auto& e : std::filesystem::directory_iterator(std::filesystem::path(results) / experiment)) {
    // `.staging-*` is a run directory still being prepared (it is renamed in with its run.json)
    if (e.is_symlink() || !e.is_directory() || e.path().filename().string().starts_with(".")) continue;
    if (!found.empty()) return "";
    found = e.path().string();
  }
  return found;
}

}  // namespace embedlab::test
