#include "comm/comm.hpp"

#include "core/progress.hpp"

#include <fmt/format.h>
// The C API only: no deprecated C++ bindings (they need libmpi_cxx).
#define OMPI_SKIP_MPICXX 1
#define MPICH_SKIP_MPICXX 1
#include <mpi.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <climits>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <thread>

namespace embedlab::comm {

namespace {

struct State {
  bool mpi = false;  // MPI_Init done and not finalised
  int rank = 0, size = 1;
  std::thread::id main_thread;
  std::atomic<std::uint64_t> sent{0};
};
State& state() {
  static State s;
  return s;
}

Comm& world_mutable() {
  static Comm c(0, 1, false);
  return c;
}

void check(int rc, const char* what) {
  if (rc == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(rc, text, &len);
  throw Error(Exit::software, fmt::format("mpi: {}: {}", what, std::string(text, static_cast<std::size_t>(len))));
}

int as_count(std::size_t n, const char* what) {
  if (n > static_cast<std::size_t>(INT_MAX))
    throw Error(Exit::software,
                fmt::format("mpi: {}: message too large (got {} bytes, expected <= {})", what, n, INT_MAX));
  return static_cast<int>(n);
}

void count_sent(std::size_t bytes) { state().sent += bytes; }

}  // namespace

void fault_point(const Comm& c, bool in_agreed_region) {
  static const char* spec = std::getenv("EMBEDLAB_INJECT_FAULT");
  if (!spec || !*spec) return;
  const std::string text(spec);
  const auto colon = text.find(':');
  if (colon == std::string::npos || std::atoi(text.substr(0, colon).c_str()) != c.rank()) return;
  const std::string kind = text.substr(colon + 1);
  if (kind == "kill") ::raise(SIGKILL);
  if ((kind == "error" && in_agreed_region) || (kind == "local" && !in_agreed_region))
    throw Error(Exit::data, fmt::format("fault injection: rank {} of {}: injected {} (EMBEDLAB_INJECT_FAULT={})",
                                        c.rank(), c.size(), kind, text));
}

bool launched_by_mpi() {
  // OpenMPI's mpirun, MPICH/Intel hydra, PMIx and Slurm's srun --mpi=pmi2/pmix.
  for (const char* v : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK", "PMI_RANK"})
    if (std::getenv(v)) return true;
  return false;
}

Session::Session(int& argc, char**& argv) {
  State& s = state();
  s.main_thread = std::this_thread::get_id();
  if (!launched_by_mpi()) return;
  int provided = 0;
  if (MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS) {
    std::fprintf(stderr, "error: mpi: MPI_Init_thread failed\n");
    std::exit(static_cast<int>(Exit::software));
  }
  // Errors come back as return codes and become embedlab::Error (check()).
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  MPI_Comm_rank(MPI_COMM_WORLD, &s.rank);
  MPI_Comm_size(MPI_COMM_WORLD, &s.size);
  s.mpi = true;
  world_mutable() = Comm(s.rank, s.size, true);
  if (s.rank != 0) Progress::set_quiet(true);  // one progress line per job, from rank 0
}

Session::~Session() {
  State& s = state();
  if (!s.mpi) return;
  MPI_Finalize();
  s.mpi = false;
  world_mutable() = Comm(0, 1, false);
}

const Comm& world() { return world_mutable(); }
const Comm& self() {
  static const Comm c(0, 1, false);
  return c;
}
Alone::Alone() : saved_(world_mutable()) { world_mutable() = Comm(0, 1, false); }
Alone::~Alone() { world_mutable() = saved_; }

const Comm& for_kernel(const Comm* requested) {
  const Comm& c = requested ? *requested : world();
  if (!c.distributed()) return c;
  if (std::this_thread::get_id() != state().main_thread) return self();
  return c;
}

void Comm::barrier() const {
  if (!mpi_ || size_ == 1) return;
  check(MPI_Barrier(MPI_COMM_WORLD), "barrier");
}

void Comm::broadcast(Bytes& bytes, int root) const {
  if (!mpi_ || size_ == 1) return;
  unsigned long long n = bytes.size();
  check(MPI_Bcast(&n, 1, MPI_UNSIGNED_LONG_LONG, root, MPI_COMM_WORLD), "broadcast");
  bytes.resize(static_cast<std::size_t>(n));
  if (rank_ == root) count_sent(static_cast<std::size_t>(n) * static_cast<std::size_t>(size_ - 1));
  // In chunks below INT_MAX (MPI counts are int).
  constexpr std::size_t kChunk = std::size_t{1} << 30;
  for (std::size_t off = 0; off < bytes.size(); off += kChunk) {
    const std::size_t len = std::min(kChunk, bytes.size() - off);
    check(MPI_Bcast(bytes.data() + off, static_cast<int>(len), MPI_BYTE, root, MPI_COMM_WORLD), "broadcast");
  }
}

void Comm::broadcast(std::vector<double>& values, int root) const {
  if (!mpi_ || size_ == 1) return;
  Bytes b = rank_ == root ? pack(values) : Bytes{};
  broadcast(b, root);
  values = unpack<double>(b);
}

void Comm::broadcast(std::string& text, int root) const {
  if (!mpi_ || size_ == 1) return;
  Bytes b(text.begin(), text.end());
  broadcast(b, root);
  text.assign(b.begin(), b.end());
}

std::vector<Bytes> Comm::gather(const Bytes& mine, int root) const {
  if (!mpi_ || size_ == 1) return {mine};
  const int n = as_count(mine.size(), "gather");
  std::vector<int> counts(rank_ == root ? static_cast<std::size_t>(size_) : 0);
  check(MPI_Gather(&n, 1, MPI_INT, counts.data(), 1, MPI_INT, root, MPI_COMM_WORLD), "gather");
  std::vector<int> displs;
  Bytes all;
  if (rank_ == root) {
    displs.resize(counts.size());
    std::size_t total = 0;
    for (std::size_t r = 0; r < counts.size(); ++r) {
      displs[r] = as_count(total, "gather");
      total += static_cast<std::size_t>(counts[r]);
    }
    as_count(total, "gather");
    all.resize(total);
  } else {
    count_sent(mine.size());
  }
  check(MPI_Gatherv(mine.data(), n, MPI_BYTE, all.data(), counts.data(), displs.data(), MPI_BYTE, root, MPI_COMM_WORLD),
        "gather");
  std::vector<Bytes> out;
  if (rank_ != root) return out;
  out.resize(counts.size());
  for (std::size_t r = 0; r < counts.size(); ++r)
    out[r].assign(all.begin() + displs[r], all.begin() + displs[r] + counts[r]);
  return out;
}

std::vector<Bytes> Comm::allgather(const Bytes& mine) const {
  if (!mpi_ || size_ == 1) return {mine};
  std::vector<Bytes> parts = gather(mine, 0);
  // Root re-sends the concatenation with the sizes in front.
  Bytes packed;
  if (rank_ == 0) {
    std::vector<std::uint64_t> sizes;
    for (const auto& p : parts) sizes.push_back(p.size());
    packed = pack(sizes);
    for (const auto& p : parts) packed.insert(packed.end(), p.begin(), p.end());
  }
  broadcast(packed, 0);
  const std::size_t head = static_cast<std::size_t>(size_) * sizeof(std::uint64_t);
  std::vector<std::uint64_t> sizes(static_cast<std::size_t>(size_));
  std::memcpy(sizes.data(), packed.data(), head);
  std::vector<Bytes> out(static_cast<std::size_t>(size_));
  std::size_t off = head;
  for (std::size_t r = 0; r < out.size(); ++r) {
    out[r].assign(packed.begin() + off, packed.begin() + off + sizes[r]);
    off += sizes[r];
  }
  return out;
}

std::vector<Bytes> Comm::alltoall(const std::vector<Bytes>& to) const {
  if (to.size() != static_cast<std::size_t>(size_))
    throw Error(Exit::software,
                fmt::format("mpi: alltoall: one buffer per rank (got {}, expected {})", to.size(), size_));
  if (!mpi_ || size_ == 1) return to;
  std::vector<int> send_counts(to.size()), recv_counts(to.size()), sdispl(to.size()), rdispl(to.size());
  Bytes send;
  for (std::size_t r = 0; r < to.size(); ++r) {
    send_counts[r] = as_count(to[r].size(), "alltoall");
    sdispl[r] = as_count(send.size(), "alltoall");
    send.insert(send.end(), to[r].begin(), to[r].end());
    if (static_cast<int>(r) != rank_) count_sent(to[r].size());
  }
  check(MPI_Alltoall(send_counts.data(), 1, MPI_INT, recv_counts.data(), 1, MPI_INT, MPI_COMM_WORLD), "alltoall");
  std::size_t total = 0;
  for (std::size_t r = 0; r < to.size(); ++r) {
    rdispl[r] = as_count(total, "alltoall");
    total += static_cast<std::size_t>(recv_counts[r]);
  }
  Bytes recv(total);
  check(MPI_Alltoallv(send.data(), send_counts.data(), sdispl.data(), MPI_BYTE, recv.data(), recv_counts.data(),
                      rdispl.data(), MPI_BYTE, MPI_COMM_WORLD),
        "alltoall");
  std::vector<Bytes> out(to.size());
  for (std::size_t r = 0; r < to.size(); ++r)
    out[r].assign(recv.begin() + rdispl[r], recv.begin() + rdispl[r] + recv_counts[r]);
  return out;
}

std::vector<double> Comm::gather(double mine, int root) const {
  std::vector<double> out;
  for (const auto& b : gather(pack(std::vector<double>{mine}), root)) out.push_back(unpack<double>(b).at(0));
  return out;
}

std::vector<double> Comm::allgather(double mine) const {
  std::vector<double> out;
  for (const auto& b : allgather(pack(std::vector<double>{mine}))) out.push_back(unpack<double>(b).at(0));
  return out;
}

double Comm::sum_ordered(double mine) const { return sum_ordered(std::vector<double>{mine}).at(0); }

std::vector<double> Comm::sum_ordered(const std::vector<double>& mine) const {
  if (!mpi_ || size_ == 1) return mine;
  const auto parts = gather(pack(mine), 0);
  std::vector<double> total;
  if (rank_ == 0) {
    total.assign(mine.size(), 0.0);
    for (const auto& p : parts) {  // rank order
      const auto v = unpack<double>(p);
      if (v.size() != total.size())
        throw Error(Exit::software,
                    fmt::format("mpi: sum_ordered: length mismatch (got {}, expected {})", v.size(), total.size()));
      for (std::size_t i = 0; i < v.size(); ++i) total[i] += v[i];
    }
  }
  broadcast(total, 0);
  return total;
}

std::vector<std::uint64_t> Comm::sum(const std::vector<std::uint64_t>& mine) const {
  if (!mpi_ || size_ == 1) return mine;
  std::vector<std::uint64_t> out(mine.size());
  count_sent(mine.size() * sizeof(std::uint64_t));
  check(MPI_Allreduce(mine.data(), out.data(), as_count(mine.size(), "sum"), MPI_UINT64_T, MPI_SUM, MPI_COMM_WORLD),
        "sum");
  return out;
}

std::vector<double> Comm::gather_slots(const std::vector<Slot>& mine, std::size_t total) const {
  std::vector<double> out(total, 0.0);
  const auto place = [&](const std::vector<Slot>& items) {
    for (const auto& [slot, v] : items) {
      if (slot >= total)
        throw Error(Exit::software,
                    fmt::format("mpi: gather_slots: slot out of range (got {}, expected < {})", slot, total));
      out[slot] = v;
    }
  };
  if (!mpi_ || size_ == 1) {
    place(mine);
    return out;
  }
  for (const auto& b : allgather(pack(mine))) place(unpack<Slot>(b));
  return out;
}

void Comm::settle(Exit code, const std::string& message) const {
  if (!mpi_ || size_ == 1) {
    if (code != Exit::ok) throw CollectiveError(code, message, 0);
    return;
  }
  Bytes mine;
  if (code != Exit::ok) {
    const int c = static_cast<int>(code);
    mine.resize(sizeof c);
    std::memcpy(mine.data(), &c, sizeof c);
    mine.insert(mine.end(), message.begin(), message.end());
  }
  const auto all = allgather(mine);
  for (std::size_t r = 0; r < all.size(); ++r) {
    if (all[r].empty()) continue;
    int c = 0;
    std::memcpy(&c, all[r].data(), sizeof c);
    throw CollectiveError(static_cast<Exit>(c), std::string(all[r].begin() + sizeof c, all[r].end()),
                          static_cast<int>(r));
  }
}

void Comm::abort(Exit code, const std::string& message) const {
  std::fprintf(stderr, "error: %s\n", message.c_str());
  std::fflush(stderr);
  if (mpi_ && size_ > 1) MPI_Abort(MPI_COMM_WORLD, static_cast<int>(code));
  std::exit(static_cast<int>(code));
}

std::uint64_t Comm::bytes_sent() const noexcept { return state().sent.load(); }

static_assert(sizeof(MPI_Request) <= 16, "Comm::Shift stores two MPI_Request");

namespace {
MPI_Request* requests(unsigned char (&r)[2][16], int i) { return reinterpret_cast<MPI_Request*>(r[i]); }
}  // namespace

Comm::Shift::Shift(Shift&& o) noexcept : active_(std::exchange(o.active_, false)) {
  std::memcpy(req_, o.req_, sizeof req_);
}
Comm::Shift& Comm::Shift::operator=(Shift&& o) noexcept {
  if (this != &o) {
    if (active_) {
      MPI_Request r[2] = {*requests(req_, 0), *requests(req_, 1)};
      MPI_Waitall(2, r, MPI_STATUSES_IGNORE);
    }
    std::memcpy(req_, o.req_, sizeof req_);
    active_ = std::exchange(o.active_, false);
  }
  return *this;
}
Comm::Shift::~Shift() {
  if (!active_) return;
  MPI_Request r[2] = {*requests(req_, 0), *requests(req_, 1)};
  MPI_Waitall(2, r, MPI_STATUSES_IGNORE);  // no throw from a destructor
}
void Comm::Shift::wait() {
  if (!active_) return;
  active_ = false;
  MPI_Request r[2] = {*requests(req_, 0), *requests(req_, 1)};
  check(MPI_Waitall(2, r, MPI_STATUSES_IGNORE), "shift");
}

void Comm::send_floats(const float* data, std::size_t n, int dest) const {
  if (!mpi_ || size_ == 1) return;
  constexpr std::size_t kPart = std::size_t{1} << 28;
  for (std::size_t off = 0; off < n || off == 0; off += kPart) {
    const int len = static_cast<int>(std::min(kPart, n - off));
    check(MPI_Send(data + off, len, MPI_FLOAT, dest, 7101, MPI_COMM_WORLD), "send");
    if (n == 0) break;
  }
  count_sent(n * sizeof(float));
}

void Comm::recv_floats(float* data, std::size_t n, int src) const {
  if (!mpi_ || size_ == 1) return;
  constexpr std::size_t kPart = std::size_t{1} << 28;
  for (std::size_t off = 0; off < n || off == 0; off += kPart) {
    const int len = static_cast<int>(std::min(kPart, n - off));
    check(MPI_Recv(data + off, len, MPI_FLOAT, src, 7101, MPI_COMM_WORLD, MPI_STATUS_IGNORE), "recv");
    if (n == 0) break;
  }
}

Comm::Shift Comm::start_shift(const float* out, std::size_t n_out, int dest, float* in, std::size_t n_in,
                              int src) const {
  Shift s;
  if (!mpi_ || size_ == 1) return s;
  // One contiguous datatype of 2^28 floats (1 GiB) keeps every count below INT_MAX.
  constexpr std::size_t kUnit = std::size_t{1} << 28;
  auto post = [&](bool send, const float* p, std::size_t n, int peer, MPI_Request* req) {
    if (n < kUnit) {
      const int count = static_cast<int>(n);
      if (send)
        check(MPI_Isend(p, count, MPI_FLOAT, peer, 7100, MPI_COMM_WORLD, req), "shift");
      else
        check(MPI_Irecv(const_cast<float*>(p), count, MPI_FLOAT, peer, 7100, MPI_COMM_WORLD, req), "shift");
      return;
    }
    // n = q·unit + rest: a struct of two contiguous parts.
    MPI_Datatype unit, rest, both;
    check(MPI_Type_contiguous(static_cast<int>(kUnit), MPI_FLOAT, &unit), "shift");
    const int q = as_count(n / kUnit, "shift"), r = static_cast<int>(n % kUnit);
    MPI_Datatype whole;
    check(MPI_Type_contiguous(q, unit, &whole), "shift");
    check(MPI_Type_contiguous(r, MPI_FLOAT, &rest), "shift");
    int lens[2] = {1, 1};
    MPI_Aint displs[2] = {0, static_cast<MPI_Aint>(n / kUnit * kUnit * sizeof(float))};
    MPI_Datatype types[2] = {whole, rest};
    check(MPI_Type_create_struct(2, lens, displs, types, &both), "shift");
    MPI_Type_commit(&both);
    if (send)
      check(MPI_Isend(p, 1, both, peer, 7100, MPI_COMM_WORLD, req), "shift");
    else
      check(MPI_Irecv(const_cast<float*>(p), 1, both, peer, 7100, MPI_COMM_WORLD, req), "shift");
    MPI_Type_free(&both);
    MPI_Type_free(&whole);
    MPI_Type_free(&rest);
    MPI_Type_free(&unit);
  };
  post(false, in, n_in, src, requests(s.req_, 0));
  post(true, out, n_out, dest, requests(s.req_, 1));
  count_sent(n_out * sizeof(float));
  s.active_ = true;
  return s;
}

Range block(const Comm& c, std::size_t count) {
  const std::size_t n = static_cast<std::size_t>(c.size()), q = count / n, extra = count % n;
  const auto at = [&](int rank) {
    const auto r = static_cast<std::size_t>(rank);
    return q * r + std::min(r, extra);
  };
  return {at(c.rank()), at(c.rank() + 1)};
}

std::vector<Bytes> gather_blocks(const Comm& c, const std::vector<Bytes>& mine, std::size_t count) {
  const Range r = block(c, count);
  if (mine.size() != r.size())
    throw Error(Exit::software, fmt::format("comm::gather_blocks: rank {} passed {} items (expected {})", c.rank(),
                                            mine.size(), r.size()));
  if (!c.distributed()) return mine;
  // One buffer per rank: the item sizes, then the items back to back.
  std::vector<std::uint64_t> sizes;
  std::size_t total = 0;
  for (const Bytes& b : mine) {
    sizes.push_back(b.size());
    total += b.size();
  }
  Bytes packed(sizeof(std::uint64_t) * sizes.size() + total);
  if (!sizes.empty()) std::memcpy(packed.data(), sizes.data(), sizeof(std::uint64_t) * sizes.size());
  std::size_t at = sizeof(std::uint64_t) * sizes.size();
  for (const Bytes& b : mine) {
    if (!b.empty()) std::memcpy(packed.data() + at, b.data(), b.size());
    at += b.size();
  }
  std::vector<Bytes> out;
  out.reserve(count);
  const std::vector<Bytes> all = c.allgather(packed);
  for (int rank = 0; rank < c.size(); ++rank) {
    const Comm other(rank, c.size(), false);
    const std::size_t items = block(other, count).size();
    const Bytes& b = all[static_cast<std::size_t>(rank)];
    std::vector<std::uint64_t> sz(items);
    if (items) std::memcpy(sz.data(), b.data(), sizeof(std::uint64_t) * items);
    std::size_t pos = sizeof(std::uint64_t) * items;
    for (const std::uint64_t n : sz) {
      out.emplace_back(b.begin() + static_cast<std::ptrdiff_t>(pos), b.begin() + static_cast<std::ptrdiff_t>(pos + n));
      pos += n;
    }
  }
  return out;
}

std::vector<double> gather_blocks(const Comm& c, const std::vector<double>& mine, std::size_t count,
                                  std::size_t width) {
  const Range r = block(c, count);
  if (mine.size() != r.size() * width)
    throw Error(Exit::software, fmt::format("comm::gather_blocks: rank {} passed {} values (expected {})", c.rank(),
                                            mine.size(), r.size() * width));
  if (!c.distributed()) return mine;
  std::vector<double> out;
  out.reserve(count * width);
  for (const Bytes& b : c.allgather(pack(mine))) {
    const auto v = unpack<double>(b);
    out.insert(out.end(), v.begin(), v.end());
  }
  if (out.size() != count * width)
    throw Error(Exit::software,
                fmt::format("comm::gather_blocks: gathered {} values (expected {})", out.size(), count * width));
  return out;
}

}  // namespace embedlab::comm
