#pragma once
// Helpers shared by the hub tests: a local HTTP server (python3 from the system), error checks.
#include <boost/test/unit_test.hpp>

#include "core/error.hpp"
#include "hub/fetch.hpp"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <string>
#include <thread>
#include <vector>

namespace embedlab::test::hub {

namespace fs = std::filesystem;
using embedlab::Error;

inline constexpr const char* kPython = "/usr/bin/python3";

// A TCP port nobody listens on right now.
inline int free_port() {
  const int s = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::getsockname(s, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    ::close(s);
    return -1;
  }
  ::close(s);
  return ntohs(a.sin_port);
}

inline bool answers(int port) {
  const int s = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool ok = ::connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  ::close(s);
  return ok;
}

// `python3 -m http.server` (or the Range-capable script) serving `root` on 127.0.0.1.
class LocalServer {
 public:
  // `args` follow the port and the root on the script's command line.
  LocalServer(const fs::path& root, const std::string& range_script = "", const std::vector<std::string>& args = {}) {
    port_ = free_port();
    if (port_ <= 0) return;
    const std::string port = std::to_string(port_);
    std::fflush(nullptr);  // the child must not write the parent's buffered output again
    pid_ = ::fork();
    if (pid_ == 0) {
      std::freopen("/dev/null", "w", stdout);
      std::freopen("/dev/null", "w", stderr);
      if (range_script.empty()) {
        ::execl(kPython, "python3", "-m", "http.server", "--bind", "127.0.0.1", "--directory", root.c_str(),
                port.c_str(), static_cast<char*>(nullptr));
      } else {
        std::vector<std::string> all = {"python3", range_script, port, root.string()};
        all.insert(all.end(), args.begin(), args.end());
        std::vector<char*> argv;
        for (auto& a : all) argv.push_back(a.data());
        argv.push_back(nullptr);
        ::execv(kPython, argv.data());
      }
      ::_exit(127);
    }
    for (int i = 0; i < 200 && pid_ > 0; ++i) {
      if (answers(port_)) {
        ready_ = true;
        return;
      }
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  ~LocalServer() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      int status = 0;
      ::waitpid(pid_, &status, 0);
    }
  }
  LocalServer(const LocalServer&) = delete;
  LocalServer& operator=(const LocalServer&) = delete;
  bool ready() const { return ready_; }
  std::string url() const { return fmt::format("http://127.0.0.1:{}", port_); }
  int port() const { return port_; }

 private:
  int port_ = -1;
  pid_t pid_ = -1;
  bool ready_ = false;
};

inline Error expect_error(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    BOOST_TEST_MESSAGE("error as expected (exit " << e.exit_code() << "): " << e.what());
    BOOST_TEST(std::string(e.what()).find('\n') == std::string::npos);
    return e;
  }
  BOOST_FAIL("expected an embedlab::Error");
  return Error(embedlab::Exit::software, "");
}

inline bool contains(const Error& e, const std::string& s) {
  return std::string(e.what()).find(s) != std::string::npos;
}

}  // namespace embedlab::test::hub

namespace embedlab::hub {
inline std::ostream& operator<<(std::ostream& os, FetchOutcome o) { return os << to_string(o); }
}  // namespace embedlab::hub

#define REQUIRE_SERVER(server)                                                                      \
  BOOST_TEST_REQUIRE(fs::exists(kPython), kPython << " is missing (scripts/setup.sh installs it)"); \
  BOOST_TEST_REQUIRE(server.ready(), "local HTTP server did not start")
