// core: checked arithmetic, sha256, the generator, atomic files.
#include <boost/test/unit_test.hpp>

#include "core/atomic_file.hpp"
#include "core/checked.hpp"
#include "core/rng.hpp"
#include "core/sha256.hpp"
#include "core/threads.hpp"
#include "testing.hpp"

#include <atomic>
#include <cmath>
#include <filesystem>
#include <stdexcept>
#include <vector>

using namespace embedlab;
namespace tt = boost::test_tools;

BOOST_AUTO_TEST_SUITE(core)

BOOST_AUTO_TEST_CASE(checked_arithmetic_overflows_are_data_errors) {
  BOOST_TEST(checked_mul(1ULL << 31, 1ULL << 31, "f", "w") == 1ULL << 62);
  BOOST_CHECK_THROW(checked_mul(1ULL << 32, 1ULL << 32, "f", "shape"), Error);
  BOOST_CHECK_THROW(checked_add(~0ULL, 1, "f", "offset"), Error);
  try {
    checked_mul(~0ULL, 2, "model.safetensors", "tensor 'x'");
    BOOST_FAIL("expected an error");
  } catch (const Error& e) {
    BOOST_TEST(e.exit_code() == 65);
    BOOST_TEST(std::string(e.what()).starts_with("model.safetensors: tensor 'x': size overflows"));
  }
}

BOOST_AUTO_TEST_CASE(sha256_known_vectors) {
  BOOST_TEST(sha256_hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  BOOST_TEST(sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  Sha256 h;
  h.update("a");
  h.update("bc");
  BOOST_TEST(h.hex() == sha256_hex("abc"));
}

// The background hasher against FIPS 180-2's one-million-'a' vector, handed over in pieces of every
// kind (borrowed, owned, copied; empty ones too) and in sizes that straddle SHA-256's 64-byte blocks.
BOOST_AUTO_TEST_CASE(sha256_background_known_vector) {
  const std::string a(1000000, 'a');
  Sha256Background h;
  std::size_t off = 0, k = 0;
  for (const std::size_t len :
       {std::size_t{0}, std::size_t{1}, std::size_t{63}, std::size_t{65}, std::size_t{4096}, std::size_t{100003}}) {
    for (int rep = 0; rep < 3; ++rep, ++k) {
      if (k % 3 == 0) h.update_borrowed(a.data() + off, len);
      if (k % 3 == 1) h.update_owned(std::vector<unsigned char>(a.begin() + off, a.begin() + off + len));
      if (k % 3 == 2) h.update_copy(a.data() + off, len);
      off += len;
    }
  }
  h.update_borrowed(a.data() + off, a.size() - off);
  BOOST_TEST(h.hex() == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  Sha256Background empty;
  BOOST_TEST(empty.hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  {
    Sha256Background abandoned;
    abandoned.update_copy("abc", 3);
  }  // destroyed unfinished: stops, no hang
}

BOOST_AUTO_TEST_CASE(rng_is_reproducible_and_children_independent) {
  Rng a(7), b(7);
  for (int i = 0; i < 100; ++i) BOOST_TEST(a.next_u64() == b.next_u64());
  Rng c1 = Rng(7).child(1), c2 = Rng(7).child(2);
  BOOST_TEST(c1.next_u64() != c2.next_u64());
  Rng r(123);
  for (int i = 0; i < 1000; ++i) {
    const auto v = r.below(10);
    BOOST_TEST(v < 10u);
  }
}

BOOST_AUTO_TEST_CASE(ziggurat_normal_moments) {
  Rng r(test::kSeed);
  const int n = 400000;
  double s1 = 0, s2 = 0, s4 = 0, tail = 0;
  for (int i = 0; i < n; ++i) {
    const double x = r.normal();
    s1 += x;
    s2 += x * x;
    s4 += x * x * x * x;
    if (std::fabs(x) > 3.6541528853610088) ++tail;
  }
  // Mean 0 ± 5 s.e., variance 1 ± 5 s.e. (Var(x²) = 2), kurtosis 3, tail mass P(|x| > r) ≈ 2.58e-4.
  BOOST_TEST(std::fabs(s1 / n) < 5 / std::sqrt(n));
  BOOST_TEST(std::fabs(s2 / n - 1) < 5 * std::sqrt(2.0 / n));
  BOOST_TEST(std::fabs(s4 / n - 3) < 0.1);
  BOOST_TEST(tail / n == 2.58e-4, tt::tolerance(0.3));
}

BOOST_AUTO_TEST_CASE(atomic_write_replaces_and_leaves_no_temp) {
  test::TempDir dir;
  const std::string p = dir.file("out.txt");
  write_file_atomic(p, "first");
  write_file_atomic(p, "second");
  BOOST_TEST(test::read_file(p) == "second");
  int files = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir.path())) ++files;
  BOOST_TEST(files == 1);
}

BOOST_AUTO_TEST_CASE(atomic_write_into_missing_dir_fails_cleanly) {
  try {
    write_file_atomic("/nonexistent-dir/x.txt", "data");
    BOOST_FAIL("expected an error");
  } catch (const Error& e) {
    BOOST_TEST(e.exit_code() == 73);
    BOOST_TEST(std::string(e.what()).starts_with("/nonexistent-dir/x.txt: cannot create file"));
  }
}

// Workers that cross a SpinBarrier between rounds never see a round's slots half written: after
// each barrier every worker reads all slots of the round before.
BOOST_AUTO_TEST_CASE(spin_barrier_separates_rounds) {
  for (const int workers : {1, 2, 3, 4}) {
    embedlab::SpinBarrier sync(workers);
    std::vector<std::atomic<int>> slot(static_cast<std::size_t>(workers));
    std::atomic<int> torn{0};
    const int rounds = 2000;
    embedlab::run_workers(workers, [&](int w) {
      for (int r = 1; r <= rounds; ++r) {
        slot[static_cast<std::size_t>(w)].store(r, std::memory_order_relaxed);
        sync.arrive_and_wait();
        for (const auto& s : slot)
          if (s.load(std::memory_order_relaxed) != r) torn.fetch_add(1);
        sync.arrive_and_wait();
      }
    });
    BOOST_TEST(torn.load() == 0, workers << " workers");
  }
}

// run_workers runs every worker once and rethrows the first exception after all have joined.
BOOST_AUTO_TEST_CASE(run_workers_runs_all_and_rethrows) {
  std::atomic<int> ran{0};
  BOOST_CHECK_THROW(embedlab::run_workers(3,
                                          [&](int w) {
                                            ran.fetch_add(1);
                                            if (w == 2) throw std::runtime_error("worker 2");
                                          }),
                    std::runtime_error);
  BOOST_TEST(ran.load() == 3);
}

BOOST_AUTO_TEST_SUITE_END()
