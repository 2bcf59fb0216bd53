// OpenBLAS's thread count has one owner (core/threads): nested and concurrent single-threaded
// scopes restore the configured count only when the last one closes.
#include <boost/test/unit_test.hpp>

#include "core/threads.hpp"

#include <atomic>
#include <thread>
#include <vector>

using namespace embedlab;

namespace {
// Restores the configured count of the process after a test.
struct KeepThreads {
  int saved = threads();
  ~KeepThreads() { set_threads(saved); }
};
}  // namespace

BOOST_AUTO_TEST_SUITE(blas_threads)

BOOST_AUTO_TEST_CASE(nested_scopes_restore_only_at_the_outermost) {
  KeepThreads keep;
  set_threads(3);
  BOOST_TEST(blas_threads_in_effect() == 3);
  {
    const BlasSingleThread outer;
    BOOST_TEST(blas_threads_in_effect() == 1);
    {
      const BlasSingleThread inner;
      BOOST_TEST(blas_threads_in_effect() == 1);
      // a kernel started inside another's scope still sees the configured workers
      BOOST_TEST(threads() == 3);
      BOOST_TEST(worker_count(0) == 3);
    }
    BOOST_TEST(blas_threads_in_effect() == 1);  // the inner scope must not restore 3 yet
  }
  BOOST_TEST(blas_threads_in_effect() == 3);
}

BOOST_AUTO_TEST_CASE(set_threads_inside_a_scope_applies_when_it_closes) {
  KeepThreads keep;
  set_threads(2);
  {
    const BlasSingleThread single;
    set_threads(4);
    BOOST_TEST(threads() == 4);
    BOOST_TEST(blas_threads_in_effect() == 1);
  }
  BOOST_TEST(blas_threads_in_effect() == 4);
  set_threads(0);  // below 1 counts as 1
  BOOST_TEST(threads() == 1);
}

BOOST_AUTO_TEST_CASE(concurrent_scopes_never_see_a_restored_count) {
  KeepThreads keep;
  set_threads(2);
  // Scopes opened and closed on 6 threads at once, overlapping in every order: inside each, BLAS
  // must be single-threaded; after all, the configured count is back. (A save-and-restore scope
  // fails both: one thread restores 2 while another is inside, or the last restores a stale 1.)
  std::atomic<int> violations{0};
  std::vector<std::thread> pool;
  for (int t = 0; t < 6; ++t)
    pool.emplace_back([&] {
      for (int i = 0; i < 2000; ++i) {
        const BlasSingleThread single;
        if (blas_threads_in_effect() != 1) ++violations;
        if (i % 7 == 0) std::this_thread::yield();
      }
    });
  for (auto& t : pool) t.join();
  BOOST_TEST(violations.load() == 0);
  BOOST_TEST(blas_threads_in_effect() == 2);
  BOOST_TEST(threads() == 2);
}

BOOST_AUTO_TEST_SUITE_END()
