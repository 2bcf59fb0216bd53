// embedlab: the tool-style binary. Subcommands are listed in one explicit table below.
#include "apps/embedlab/commands.hpp"
#include "comm/comm.hpp"
#include "core/error.hpp"

#include <fmt/format.h>

#include <exception>
#include <string_view>

namespace {

using embedlab::cli::Command;

// name, one-line help, entry point.
const Command kCommands[] = {
    {"version", "print the versions of embedlab and its libraries", embedlab::cli::cmd_version},
    {"inspect", "list, validate and summarise an embedding file or GPT-2 checkpoint", embedlab::cli::cmd_inspect},
    {"tokenize", "token ids and tokens of a text (any Hugging Face tokenizer)", embedlab::cli::cmd_tokenize},
    {"fetch", "download GPT-2 or GloVe data (verified, resumable); --list shows names", embedlab::cli::cmd_fetch},
    {"similar", "top-k neighbours of words by cosine (gensim most_similar)", embedlab::cli::cmd_similar},
    {"neighbors", "all-rows top-k neighbours into an HDF5 file", embedlab::cli::cmd_neighbors},
    {"stats", "all-pairs cosine statistics and anisotropy of a whole matrix", embedlab::cli::cmd_stats},
    {"forward", "GPT-2 forward pass: top-k next tokens, final hidden state, greedy continuation",
     embedlab::cli::cmd_forward},
    {"hidden", "hidden states of every token at chosen layers into an HDF5 file", embedlab::cli::cmd_hidden},
    {"analogy", "word arithmetic: nearest tokens to king - man + woman (3CosAdd/3CosMul, --unembed)",
     embedlab::cli::cmd_analogy},
    {"doesnt-match", "the word that fits least with the others (gensim doesnt_match)", embedlab::cli::cmd_doesnt_match},
    {"compare", "how alike two spaces are: CKA, mutual k-NN, Procrustes, SVCCA, RSA (with permutation nulls)",
     embedlab::cli::cmd_compare},
};

void usage(std::FILE* out) {
  fmt::print(out, "usage: embedlab COMMAND [ARGS...]   (embedlab COMMAND --help for details)\n\ncommands:\n");
  for (const auto& c : kCommands) fmt::print(out, "  {:<14} {}\n", c.name, c.help);
}

}  // namespace

int main(int argc, char** argv) {
  const embedlab::comm::Session mpi(argc, argv);  // rank 0 of 1 unless started by mpirun
  const auto& world = embedlab::comm::world();
  if (argc < 2) {
    usage(stderr);
    return 64;
  }
  const std::string_view cmd = argv[1];
  if (cmd == "--version" || cmd == "-V") return embedlab::cli::cmd_version(argc - 1, argv + 1);
  if (cmd == "--help" || cmd == "-h" || cmd == "help") {
    usage(stdout);
    return 0;
  }
  for (const auto& c : kCommands) {
    if (cmd != c.name) continue;
    try {
      return c.run(argc - 1, argv + 1);
    } catch (const embedlab::comm::CollectiveError& e) {  // every rank has it: printed once
      if (world.root()) fmt::print(stderr, "error: {}\n", e.what());
      return e.exit_code();
    } catch (const embedlab::Error& e) {
      if (world.distributed()) world.abort(e.code(), e.what());  // this rank alone: end all ranks
      fmt::print(stderr, "error: {}\n", e.what());
      return e.exit_code();
    } catch (const std::exception& e) {
      fmt::print(stderr, "error: internal: {}\n", e.what());
      return 70;
    }
  }
  fmt::print(stderr, "error: unknown command '{}' (see embedlab --help)\n", cmd);
  return 64;
}
