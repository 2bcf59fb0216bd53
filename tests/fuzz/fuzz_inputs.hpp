#pragma once
// What each fuzz target does with one input, shared by the libFuzzer targets (tests/fuzz/fuzz_*.cpp)
// and the regression replay of the normal build (tests/io/test_fuzz_regressions.cpp). Readers take
// paths, so the bytes go to a per-process scratch file first. embedlab::Error is the expected
// outcome of a bad input; any other exception (or a sanitizer report) is a bug.
#include "core/error.hpp"
#include "io/readers.hpp"
#include "tokenizer/tokenizer.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <string_view>

namespace embedlab::fuzz {

// /dev/shm/embedlab-fuzz-<pid>-<name> (or $TMPDIR when /dev/shm is absent) holding `size` bytes.
// Rewritten in place for every input; removed at exit.
inline std::string scratch_file(const std::string& name, const std::uint8_t* data, std::size_t size) {
  static const std::string dir = std::filesystem::is_directory("/dev/shm")
                                     ? std::string("/dev/shm")
                                     : std::filesystem::temp_directory_path().string();
  const std::string path = dir + "/embedlab-fuzz-" + std::to_string(::getpid()) + "-" + name;
  static bool registered = false;
  static std::string* last = new std::string;  // read by the atexit handler, never destroyed
  *last = path;
  if (!registered) {
    registered = true;
    std::atexit([] { ::unlink(last->c_str()); });
  }
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) std::abort();
  std::size_t done = 0;
  while (done < size) {
    const ssize_t n = ::write(fd, data + done, size - done);
    if (n <= 0) std::abort();
    done += static_cast<std::size_t>(n);
  }
  ::close(fd);
  return path;
}

// Every tensor the index lists that the reader can convert, then the embeddings entry point.
inline void read_safetensors_file(const std::string& path) {
  try {
    const io::SafetensorsIndex index = io::read_safetensors_index(path);
    for (const auto& t : index.tensors)
      if (io::safetensors_dtype_readable(t.dtype) && t.shape.size() <= 2)
        (void)io::read_safetensors_tensor(index, t.name);
  } catch (const Error&) {
  }
  try {
    (void)io::read_safetensors(path, "");
  } catch (const Error&) {
  }
}

inline void read_npy_file(const std::string& path) {
  try {
    (void)io::read_npy(path);
  } catch (const Error&) {
  }
}

// All rows, then only the first two (the limit path stops early and must not misread the rest).
inline void read_word_text_file(const std::string& path) {
  try {
    (void)io::read_word_text(path);
  } catch (const Error&) {
  }
  try {
    (void)io::read_word_text(path, 2);
  } catch (const Error&) {
  }
}

inline void read_word2vec_bin_file(const std::string& path) {
  try {
    (void)io::read_word2vec_bin(path);
  } catch (const Error&) {
  }
  try {
    (void)io::read_word2vec_bin(path, 2);
  } catch (const Error&) {
  }
}

// One isolated read per input (each forks a child): the obvious dataset, or for inputs whose last
// byte is odd a named one (the check of every link on the way to it).
inline void read_hdf5_file(const std::string& path, bool named) {
  try {
    (void)io::read_hdf5(path, named ? "/embeddings" : "");
  } catch (const Error&) {
  }
}

// decode(encode(x)) == x, with and without special tokens. The tokenizer promises it for any bytes
// (invalid UTF-8 runs are byte tokens), so the check is not limited to valid UTF-8.
inline void tokenizer_roundtrip(const io::Gpt2Tokenizer& tok, std::string_view text) {
  for (const bool special : {true, false}) {
    const std::string back = tok.decode(tok.encode_gpt2(text, special));
    if (back != text)
      throw std::logic_error("tokenizer round trip changed the text: " + io::quote_bytes(text) + " -> " +
                             io::quote_bytes(back));
  }
}

// The tokenizer files: $EMBEDLAB_TOKENIZER_DIR, else the compiled-in tests/data/gpt2-tokenizer;
// "" when neither holds them.
inline std::string tokenizer_dir(const char* compiled_in) {
  for (const char* d : {static_cast<const char*>(std::getenv("EMBEDLAB_TOKENIZER_DIR")), compiled_in}) {
    if (d == nullptr || *d == 0) continue;
    const std::filesystem::path p(d);
    if ((std::filesystem::exists(p / "encoder.json") && std::filesystem::exists(p / "vocab.bpe")) ||
        (std::filesystem::exists(p / "vocab.json") && std::filesystem::exists(p / "merges.txt")))
      return p.string();
  }
  return "";
}

}  // namespace embedlab::fuzz
