#pragma once
// Running an external program without a shell: argv is passed as is (posix_spawnp), so no byte of
// an argument is ever interpreted as shell syntax. The one way embedlab runs other programs.
#include <string>
#include <vector>

namespace embedlab {

struct ProcessResult {
  int exit_status = -1;  // exit code, or -1 when it could not run or died from a signal
  std::string out;       // everything it wrote on stdout
};

// Runs argv[0] (searched in PATH) with stdin from /dev/null and stderr discarded unless
// keep_stderr; captures stdout.
ProcessResult run_capture(const std::vector<std::string>& argv, bool keep_stderr = false);

}  // namespace embedlab
