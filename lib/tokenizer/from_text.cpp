#include "tokenizer/from_text.hpp"

#include "core/error.hpp"

#include <sys/mman.h>
#include <unistd.h>

namespace embedlab::tok {

Tokenizer tokenizer_from_json_text(std::string_view text, const std::string& name) {
  const int fd = memfd_create("tokenizer.json", MFD_CLOEXEC);
  if (fd < 0) throw Error(Exit::software, "tokenizer: memfd_create failed");
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t w = ::write(fd, text.data() + done, text.size() - done);
    if (w <= 0) {
      ::close(fd);
      throw Error(Exit::software, "tokenizer: cannot write the in-memory tokenizer.json");
    }
    done += static_cast<std::size_t>(w);
  }
  const std::string path = "/proc/self/fd/" + std::to_string(fd);
  try {
    auto tok = Tokenizer::from_file(path);
    ::close(fd);
    return tok;
  } catch (const Error& e) {
    ::close(fd);
    std::string msg = e.what();
    if (msg.compare(0, path.size(), path) == 0) msg = name + msg.substr(path.size());
    throw Error(e.code(), msg);
  }
}

}  // namespace embedlab::tok
