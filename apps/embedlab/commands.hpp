#pragma once
// Subcommands of the embedlab binary: each `int cmd_X(int argc, char** argv)` gets argv[0] = "X".
// Errors are thrown as embedlab::Error; main() turns them into one line and the exit code.
namespace embedlab::cli {

struct Command {
  const char* name;
  const char* help;
  int (*run)(int argc, char** argv);
};

int cmd_version(int argc, char** argv);
int cmd_inspect(int, char**);
int cmd_tokenize(int argc, char** argv);
int cmd_fetch(int argc, char** argv);
int cmd_forward(int, char**);
int cmd_analogy(int argc, char** argv);
int cmd_doesnt_match(int argc, char** argv);
int cmd_similar(int argc, char** argv);
int cmd_neighbors(int argc, char** argv);
int cmd_stats(int argc, char** argv);
int cmd_hidden(int argc, char** argv);
int cmd_compare(int argc, char** argv);

}  // namespace embedlab::cli
