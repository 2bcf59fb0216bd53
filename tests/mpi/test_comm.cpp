// comm: the communicator's collectives, on 1 process (no launcher) and under mpirun -np N. Every
// expected value is computed here from the rank count alone, not by the module under test.
#include <boost/test/unit_test.hpp>

#include "comm/comm.hpp"
#include "mpi_fixture.hpp"

#include <numeric>
#include <string>
#include <vector>

using namespace embedlab;

BOOST_AUTO_TEST_SUITE(comm_collectives)

BOOST_AUTO_TEST_CASE(rank_and_size_match_the_launcher) {
  const auto& c = comm::world();
  const char* env = std::getenv("OMPI_COMM_WORLD_SIZE");
  BOOST_TEST(c.size() == (env ? std::atoi(env) : 1));
  BOOST_TEST(c.rank() >= 0);
  BOOST_TEST(c.rank() < c.size());
  BOOST_TEST(comm::self().size() == 1);
  BOOST_TEST(comm::self().rank() == 0);
  c.barrier();
}

BOOST_AUTO_TEST_CASE(broadcast_replaces_every_buffer_with_roots) {
  const auto& c = comm::world();
  const int root = c.size() - 1;
  comm::Bytes b(static_cast<std::size_t>(c.rank() + 1), static_cast<unsigned char>(c.rank()));
  c.broadcast(b, root);
  BOOST_TEST(b.size() == static_cast<std::size_t>(root + 1));
  for (auto x : b) BOOST_TEST(x == root);
  std::vector<double> v{c.root() ? 0.1 : -1.0, c.root() ? 0.2 : -2.0};
  c.broadcast(v);
  BOOST_TEST(v == (std::vector<double>{0.1, 0.2}));
  std::string s = c.root() ? "from rank 0" : "";
  c.broadcast(s);
  BOOST_TEST(s == "from rank 0");
}

BOOST_AUTO_TEST_CASE(gather_and_allgather_keep_rank_order) {
  const auto& c = comm::world();
  const comm::Bytes mine(static_cast<std::size_t>(c.rank()), static_cast<unsigned char>(7 + c.rank()));
  const auto g = c.gather(mine);
  if (c.root()) {
    BOOST_REQUIRE(g.size() == static_cast<std::size_t>(c.size()));
    for (int r = 0; r < c.size(); ++r)
      BOOST_TEST(g[r] == comm::Bytes(static_cast<std::size_t>(r), static_cast<unsigned char>(7 + r)));
  } else {
    BOOST_TEST(g.empty());
  }
  const auto a = c.allgather(mine);
  BOOST_REQUIRE(a.size() == static_cast<std::size_t>(c.size()));
  for (int r = 0; r < c.size(); ++r)
    BOOST_TEST(a[r] == comm::Bytes(static_cast<std::size_t>(r), static_cast<unsigned char>(7 + r)));
  const auto d = c.allgather(0.5 * c.rank());
  for (int r = 0; r < c.size(); ++r) BOOST_TEST(d[r] == 0.5 * r);
}

BOOST_AUTO_TEST_CASE(ordered_sums_are_rank_order_sums_on_every_rank) {
  const auto& c = comm::world();
  // Values whose sum depends on the order: 1e16 + 1 + ... loses the ones unless added in order.
  const double mine = c.rank() == 0 ? 1e16 : 1.0;
  double expected = 0;
  for (int r = 0; r < c.size(); ++r) expected += r == 0 ? 1e16 : 1.0;
  BOOST_TEST(c.sum_ordered(mine) == expected);
  const auto v = c.sum_ordered(std::vector<double>{mine, -mine});
  BOOST_TEST(v[0] == expected);
  BOOST_TEST(v[1] == -expected);
  const auto u = c.sum(std::vector<std::uint64_t>{1, static_cast<std::uint64_t>(c.rank())});
  BOOST_TEST(u[0] == static_cast<std::uint64_t>(c.size()));
  BOOST_TEST(u[1] == static_cast<std::uint64_t>(c.size() * (c.size() - 1) / 2));
}

BOOST_AUTO_TEST_CASE(gather_slots_assembles_the_owners_values) {
  const auto& c = comm::world();
  const std::size_t total = 11;
  std::vector<comm::Comm::Slot> mine;
  for (std::size_t t = 0; t < total; ++t)
    if (comm::owns(c, t)) mine.push_back({t, 1.0 / static_cast<double>(t + 1)});
  const auto all = c.gather_slots(mine, total);
  BOOST_REQUIRE(all.size() == total);
  for (std::size_t t = 0; t < total; ++t) BOOST_TEST(all[t] == 1.0 / static_cast<double>(t + 1));
  BOOST_CHECK_THROW(c.gather_slots({{total, 1.0}}, total), Error);
}

BOOST_AUTO_TEST_CASE(agree_turns_one_ranks_error_into_everyones) {
  const auto& c = comm::world();
  const int failing = c.size() - 1;  // the last rank fails; the others succeed
  try {
    c.agree([&] {
      if (c.rank() == failing) fail(Exit::data, "rows.npy", "row 3", "non-finite entry");
    });
    BOOST_FAIL("expected a CollectiveError");
  } catch (const comm::CollectiveError& e) {
    BOOST_TEST(e.exit_code() == 65);
    BOOST_TEST(std::string(e.what()) == "rows.npy: row 3: non-finite entry");
    BOOST_TEST(e.failing_rank() == failing);
  }
  // The lowest failing rank's message wins when several fail.
  try {
    c.agree([&] { fail(Exit::no_input, "f", "", fmt::format("rank {}", c.rank())); });
    BOOST_FAIL("expected a CollectiveError");
  } catch (const comm::CollectiveError& e) {
    BOOST_TEST(e.exit_code() == 66);
    BOOST_TEST(std::string(e.what()) == "f: rank 0");
  }
  BOOST_CHECK_NO_THROW(c.agree([] {}));
}

BOOST_AUTO_TEST_CASE(pack_round_trips_pod_vectors) {
  const std::vector<float> v{1.5f, -0.0f, 3.25f};
  const auto b = comm::pack(v);
  BOOST_TEST(b.size() == 12u);
  BOOST_TEST(comm::unpack<float>(b) == v);
}

BOOST_AUTO_TEST_SUITE_END()
