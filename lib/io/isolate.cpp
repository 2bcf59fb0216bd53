#include "io/isolate.hpp"

#include "core/error.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string_view>

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define EMBEDLAB_ISOLATE_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define EMBEDLAB_ISOLATE_ASAN 1
#endif

namespace embedlab::io {

namespace {

// The answer frame on the pipe: one byte kind ('0' ok, 'E' error), 4 bytes exit code, then the
// payload (the rest of the stream).
void write_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // the parent is gone: nothing to report to
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
}

void send(int fd, char kind, int code, const std::string& payload) {
  std::string frame(1, kind);
  frame.append(reinterpret_cast<const char*>(&code), sizeof code);
  frame += payload;
  write_all(fd, frame);
}

[[maybe_unused]] std::uint64_t address_space_now() {  // unused when the limit is off under ASan
  std::ifstream statm("/proc/self/statm");
  std::uint64_t pages = 0;
  statm >> pages;
  return pages * static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
}

void set_soft_limit(int resource, std::uint64_t value) {
  struct rlimit rl {};
  if (::getrlimit(resource, &rl) != 0) return;
  rlim_t v = static_cast<rlim_t>(value);
  if (rl.rlim_max != RLIM_INFINITY && v > rl.rlim_max) v = rl.rlim_max;
  rl.rlim_cur = v;
  ::setrlimit(resource, &rl);
}

}  // namespace

void limit_address_space(std::uint64_t extra) {
#ifndef EMBEDLAB_ISOLATE_ASAN
  if (extra != 0) set_soft_limit(RLIMIT_AS, address_space_now() + extra);
#else
  (void)extra;
#endif
}

std::string run_isolated(const std::string& file, const std::string& library, const IsolationLimits& limits,
                         const std::function<std::string()>& work) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0)
    fail(Exit::software, file, "",
         fmt::format("cannot create a pipe for the {} reader: {}", library, std::strerror(errno)));
  std::fflush(nullptr);  // buffered output must not be written twice
  const pid_t pid = ::fork();
  if (pid < 0) {
    const int err = errno;
    ::close(fds[0]);
    ::close(fds[1]);
    fail(Exit::software, file, "", fmt::format("cannot fork the {} reader: {}", library, std::strerror(err)));
  }
  if (pid == 0) {
    ::close(fds[0]);
#ifdef EMBEDLAB_FUZZ_BUILD
    // Under libFuzzer a crash of the library in this child must die of its signal (a contained
    // crash, reported by the parent), not run the fuzzer's inherited handler, which would save
    // a crash artifact for it.
    for (const int sig : {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT}) std::signal(sig, SIG_DFL);
#endif
    set_soft_limit(RLIMIT_CORE, 0);
    if (limits.cpu_seconds != 0) set_soft_limit(RLIMIT_CPU, limits.cpu_seconds);
    limit_address_space(limits.extra_address_space);
    try {
      send(fds[1], '0', 0, work());
    } catch (const Error& e) {
      send(fds[1], 'E', e.exit_code(), e.what());
    } catch (const std::bad_alloc&) {
      send(fds[1], 'E', static_cast<int>(Exit::data), fmt::format("{}: out of memory in the {} reader", file, library));
    } catch (const std::exception& e) {
      send(fds[1], 'E', static_cast<int>(Exit::software), fmt::format("{}: {} reader: {}", file, library, e.what()));
    } catch (...) {
      send(fds[1], 'E', static_cast<int>(Exit::software), fmt::format("{}: {} reader failed", file, library));
    }
    ::close(fds[1]);
    ::_exit(0);
  }

  ::close(fds[1]);
  std::string answer;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(fds[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    answer.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fds[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR)
      fail(Exit::software, file, "", fmt::format("cannot wait for the {} reader: {}", library, std::strerror(errno)));
  }

  if (WIFSIGNALED(status)) {
    const int sig = WTERMSIG(status);
    const char* name = ::strsignal(sig);
    fail(Exit::data, file, "",
         fmt::format("{} library crashed while reading (signal {}, {}{})", library, sig, name ? name : "?",
                     sig == SIGXCPU ? ": CPU time limit" : ""));
  }
  constexpr std::size_t head = 1 + sizeof(int);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || answer.size() < head)
    fail(Exit::software, file, "",
         fmt::format("{} reader process ended without an answer (exit status {})", library,
                     WIFEXITED(status) ? WEXITSTATUS(status) : -1));
  int code = 0;
  std::memcpy(&code, answer.data() + 1, sizeof code);
  std::string payload = answer.substr(head);
  if (answer[0] == 'E') throw Error(static_cast<Exit>(code), payload);
  return payload;
}

}  // namespace embedlab::io
