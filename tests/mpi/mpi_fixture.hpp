#pragma once
// The MPI session of the mpi test binary: MPI is initialised (when started by mpirun) before the
// first test and finalised after the last, as main() does in the apps.
#include <boost/test/unit_test.hpp>

#include "comm/comm.hpp"

#include <memory>

namespace embedlab::test {
struct MpiSession {
  MpiSession() {
    auto& m = boost::unit_test::framework::master_test_suite();
    session = std::make_unique<comm::Session>(m.argc, m.argv);
  }
  ~MpiSession() { session.reset(); }
  std::unique_ptr<comm::Session> session;
};
}  // namespace embedlab::test
