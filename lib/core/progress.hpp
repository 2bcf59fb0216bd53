#pragma once
// A progress line on stderr (done/total, rate, ETA) for steps longer than ~2 s.
// Silent for short steps and when globally quiet (`run_experiment --quiet`).
#include <chrono>
#include <cstdint>
#include <string>

namespace embedlab {

class Progress {
 public:
  Progress(std::string label, std::uint64_t total, std::string unit = "items");
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;
  // Report `done` units finished so far (monotone); cheap to call often.
  void update(std::uint64_t done);
  void finish();

  static void set_quiet(bool quiet);
  static bool quiet();

 private:
  using clock = std::chrono::steady_clock;
  std::string label_, unit_;
  std::uint64_t total_;
  clock::time_point start_, last_print_;
  bool printed_ = false;
  bool finished_ = false;
};

}  // namespace embedlab
