// The mpi suite's one global fixture (MPI init/finalize around all tests).
#include "mpi_fixture.hpp"

using embedlab::test::MpiSession;
BOOST_TEST_GLOBAL_FIXTURE(MpiSession);
