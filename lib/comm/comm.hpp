#pragma once
// The communicator: the one place that calls MPI (the OpenMPI C API). Algorithms take a
// `const comm::Comm&` (or find the ambient one with comm::for_kernel) and never see MPI.
//
// Serial is the common case: a process not started by an MPI launcher (mpirun/mpiexec/srun; found
// by their environment variables) never initialises MPI and is rank 0 of 1 — every collective is
// then a copy or a no-op, so the serial path costs nothing and needs no MPI runtime.
//
// Determinism: nothing here uses MPI's own floating-point reductions (their order depends on the
// rank count and the algorithm MPI picks). Values are gathered and combined in a fixed order —
// rank order, or better, the global slot order of gather_slots (tile order for the kernels) — so a
// sum over a fixed tiling is the same bits for any rank count, and equal to the serial run.
//
// Errors: an embedlab::Error thrown inside agree() on any rank becomes, on every rank, the same
// CollectiveError (the lowest failing rank's message and exit code): main() prints it once (rank 0)
// and every rank exits with that code; the runner records FAILED. An Error outside agree() on one
// rank ends all ranks through abort(): that rank prints its one-line message and MPI_Abort passes
// its exit code to the launcher.
//
// Threads: MPI is initialised FUNNELED; only the thread that created the Session (main) may call
// a collective. comm::for_kernel returns the local communicator on any other thread, so a kernel
// called from worker threads runs whole on that process instead of deadlocking.
#include "core/error.hpp"

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace embedlab::comm {

using Bytes = std::vector<unsigned char>;

// Initialises MPI when the process was started by an MPI launcher, finalises it on destruction.
// One per process, created first thing in main().
class Session {
 public:
  Session(int& argc, char**& argv);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;
};

// Thrown on every rank by agree(): the same message and code everywhere.
class CollectiveError : public Error {
 public:
  CollectiveError(Exit code, const std::string& message, int failing_rank)
      : Error(code, message), failing_rank_(failing_rank) {}
  int failing_rank() const noexcept { return failing_rank_; }

 private:
  int failing_rank_;
};

class Comm {
 public:
  int rank() const noexcept { return rank_; }
  int size() const noexcept { return size_; }
  bool root() const noexcept { return rank_ == 0; }
  bool distributed() const noexcept { return size_ > 1; }

  void barrier() const;

  // Root's buffer replaces everyone's.
  void broadcast(Bytes& bytes, int root = 0) const;
  void broadcast(std::vector<double>& values, int root = 0) const;
  void broadcast(std::string& text, int root = 0) const;

  // Every rank's buffer, in rank order: on `root` only (others get an empty vector) / on all.
  std::vector<Bytes> gather(const Bytes& mine, int root = 0) const;
  std::vector<Bytes> allgather(const Bytes& mine) const;
  // Personalised exchange: to[r] goes to rank r; the result holds what each rank sent here.
  std::vector<Bytes> alltoall(const std::vector<Bytes>& to) const;
  std::vector<double> gather(double mine, int root = 0) const;
  std::vector<double> allgather(double mine) const;

  // Deterministic sums: gathered to rank 0, added in rank order, broadcast (all get the same bits).
  double sum_ordered(double mine) const;
  std::vector<double> sum_ordered(const std::vector<double>& mine) const;  // element-wise
  // Exact integer sums (any order is exact).
  std::vector<std::uint64_t> sum(const std::vector<std::uint64_t>& mine) const;

  // Global-slot gather: each rank owns some slots of a vector of `total` values (the slots of its
  // tiles); every rank receives the whole vector, each slot from its owner. Unowned slots are 0.
  // Reducing the result in slot order is then independent of the rank count.
  struct Slot {
    std::uint64_t index;
    double value;
  };
  std::vector<double> gather_slots(const std::vector<Slot>& mine, std::size_t total) const;

  // Runs fn(); an embedlab::Error from it on any rank makes every rank throw the same
  // CollectiveError (lowest failing rank wins). Any other exception is rethrown locally as is.
  template <class F>
  void agree(F&& fn) const {
    Exit code = Exit::ok;
    std::string message;
    try {
      fn();
    } catch (const CollectiveError&) {
      throw;
    } catch (const Error& e) {
      code = e.code();
      message = e.what();
    }
    settle(code, message);
  }
  // The agreement step alone: every rank passes its status (Exit::ok: no error).
  void settle(Exit code, const std::string& message) const;

  // Ends every rank: prints `error: message` on stderr and exits with `code` (MPI_Abort when
  // distributed, std::exit when serial).
  [[noreturn]] void abort(Exit code, const std::string& message) const;

  // Ring circulation (linalg/ring.hpp): starts sending n_out floats at `out` to rank `dest` and
  // receiving exactly n_in floats into `in` from rank `src`, both at once; the returned Shift
  // completes them in wait() (or its destructor). Counts are floats, so blocks of more than 2 GiB
  // go in one message. Serial (size 1): nothing is sent, `in` is left as is.
  class Shift {
   public:
    Shift() = default;
    Shift(Shift&& o) noexcept;
    Shift& operator=(Shift&& o) noexcept;
    Shift(const Shift&) = delete;
    Shift& operator=(const Shift&) = delete;
    ~Shift();
    void wait();

   private:
    friend class Comm;
    alignas(8) unsigned char req_[2][16] = {};
    bool active_ = false;
  };
  Shift start_shift(const float* out, std::size_t n_out, int dest, float* in, std::size_t n_in, int src) const;
  // Blocking point-to-point transfer of exactly n floats (a pipeline along the ranks); no-ops when
  // serial.
  void send_floats(const float* data, std::size_t n, int dest) const;
  void recv_floats(float* data, std::size_t n, int src) const;

  // Payload bytes this rank has handed to MPI as a sender so far (bench: bytes sent per rank).
  std::uint64_t bytes_sent() const noexcept;

  Comm(int rank, int size, bool mpi) : rank_(rank), size_(size), mpi_(mpi) {}

 private:
  int rank_ = 0, size_ = 1;
  bool mpi_ = false;
};

// The whole job (size 1 without a launcher) and the process alone (always size 1).
const Comm& world();
const Comm& self();
// What a kernel distributes over: `requested` if given, else world(); self() on any thread other
// than the one that created the Session (MPI is FUNNELED).
const Comm& for_kernel(const Comm* requested);

// While alive, world() is this process alone (rank 0 of 1, no MPI call): a sweep runs whole grid
// points on each rank, and a point's kernels and writes then behave as in a serial run. Create and
// destroy it on the Session's thread, outside any collective; a copy of world() taken before keeps
// the job's communicator.
class Alone {
 public:
  Alone();
  ~Alone();
  Alone(const Alone&) = delete;
  Alone& operator=(const Alone&) = delete;

 private:
  Comm saved_;
};

// Fault injection for the fault tests (tests/mpi_e2e): EMBEDLAB_INJECT_FAULT=RANK:KIND makes rank
// RANK fail at the next fault point of a distributed kernel — KIND `error`: an Error (exit 65) inside
// the kernel's agreed region; `local`: the same Error outside it (the abort path); `kill`: SIGKILL
// of this rank. Unset (always, outside tests): a no-op.
void fault_point(const Comm& c, bool in_agreed_region);

// True when the process was started by an MPI launcher (the environment says so).
bool launched_by_mpi();

// POD vectors to and from byte buffers (same machine layout on every rank).
template <class T>
Bytes pack(const std::vector<T>& v) {
  static_assert(std::is_trivially_copyable_v<T>);
  Bytes b(v.size() * sizeof(T));
  if (!v.empty()) std::memcpy(b.data(), v.data(), b.size());
  return b;
}
// Two POD vectors back to back (the reader knows where the first ends).
template <class A, class B>
Bytes pack(const std::vector<A>& a, const std::vector<B>& b) {
  static_assert(std::is_trivially_copyable_v<A> && std::is_trivially_copyable_v<B>);
  const std::size_t na = a.size() * sizeof(A), nb = b.size() * sizeof(B);
  Bytes out(na + nb);
  if (na) std::memcpy(out.data(), a.data(), na);
  if (nb) std::memcpy(out.data() + na, b.data(), nb);
  return out;
}
template <class T>
std::vector<T> unpack(const Bytes& b) {
  static_assert(std::is_trivially_copyable_v<T>);
  std::vector<T> v(b.size() / sizeof(T));
  if (!v.empty()) std::memcpy(v.data(), b.data(), v.size() * sizeof(T));
  return v;
}

// Which ranks own which item of a fixed list of `items` (tiles): item t belongs to rank t mod size.
inline bool owns(const Comm& c, std::size_t item) { return static_cast<int>(item % c.size()) == c.rank(); }

// The fixed block rule for independent items (permutations, bootstraps, experiment cells, analogy
// tiles): items [0, count) in contiguous blocks in rank order, the first count mod N ranks one item
// more than the others; concatenating the blocks in rank order gives item order.
struct Range {
  std::size_t begin = 0, end = 0;
  std::size_t size() const noexcept { return end - begin; }
  bool contains(std::size_t i) const noexcept { return i >= begin && i < end; }
};
Range block(const Comm& c, std::size_t count);

// Every rank passes one byte buffer per item of its block (block(c, count), in item order); every
// rank receives all `count` buffers in item order. Collective (main thread).
std::vector<Bytes> gather_blocks(const Comm& c, const std::vector<Bytes>& mine, std::size_t count);
// The same for `width` doubles per item (item-major): every rank receives count·width values.
std::vector<double> gather_blocks(const Comm& c, const std::vector<double>& mine, std::size_t count, std::size_t width);

}  // namespace embedlab::comm
