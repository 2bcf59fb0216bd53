// Loading benchmarks (issue: embedding sources), on files this program generates in --dir:
//   * a 50257×768 F32 safetensors file (GPT-2's wte shape, 154 MB, warm page cache): load_embeddings
//     against reading the file's bytes once into a fresh buffer (the floor any loader pays); the same
//     matrix as .npy for NumPy's np.load (scripts/bench_io_peers.py);
//   * a 400,000×50 word2vec-text file (header "400000 50", 5 decimals like GloVe): read_word_text
//     against gensim's KeyedVectors.load_word2vec_format (the peer script).
// Every load includes what the loader always does (validation, sha256 of the bytes read).
//   bench_io --dir DIR [--n 50257] [--d 768] [--words 400000] [--wdim 50] [--reps 5]
#include "bench_util.hpp"
#include "core/rng.hpp"
#include "core/sha256.hpp"
#include "io/embedding.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <filesystem>
#include <memory>

namespace {

using namespace embedlab;
using namespace embedlab::bench;
namespace fs = std::filesystem;

void write_bytes(const fs::path& path, const std::string& header, const float* data, std::size_t n) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f || std::fwrite(header.data(), 1, header.size(), f) != header.size() ||
      std::fwrite(data, sizeof(float), n, f) != n || std::fclose(f) != 0)
    fail(Exit::cant_create, path.string(), "", "cannot write the benchmark file");
}

// Reading the bytes once: open, allocate a buffer of the file's size, read(2) it whole. With
// `huge`, the buffer is 2 MiB aligned and madvise(MADV_HUGEPAGE)d as the loaders do, so the kernel's
// copy faults in 2 MiB pages (on a VM 4 KiB page faults dominate a plain read). Returns the bytes.
std::unique_ptr<char, decltype(&std::free)> read_all(const std::string& path, bool huge, std::size_t& size) {
  const int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) fail(Exit::no_input, path, "", "cannot open");
  size = static_cast<std::size_t>(::lseek(fd, 0, SEEK_END));
  constexpr std::size_t kHuge = 2u << 20;
  std::unique_ptr<char, decltype(&std::free)> buf(
      static_cast<char*>(huge ? std::aligned_alloc(kHuge, (size + kHuge - 1) / kHuge * kHuge) : std::malloc(size)),
      &std::free);
  if (huge) ::madvise(buf.get(), (size + kHuge - 1) / kHuge * kHuge, MADV_HUGEPAGE);
  std::size_t got = 0;
  while (got < size) {
    const ssize_t r = ::pread(fd, buf.get() + got, size - got, static_cast<off_t>(got));
    if (r <= 0) break;
    got += static_cast<std::size_t>(r);
  }
  ::close(fd);
  if (got != size) fail(Exit::io, path, "", "short read");
  return buf;
}

double load_seconds(const std::string& path, const std::string& format, int reps) {
  io::LoadOptions o;
  o.path = path;
  o.format = format;
  return best_of(reps, [&] { (void)io::load_embeddings(o); });
}

int run(int argc, char** argv) {
  std::string dir;
  std::uint64_t n = 50257, d = 768, words = 400000, wdim = 50;
  int reps = 5;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (i + 1 >= argc) fail(Exit::usage, "bench_io", a, "needs a value");
    const std::string v = argv[++i];
    if (a == "--dir")
      dir = v;
    else if (a == "--n")
      n = std::stoull(v);
    else if (a == "--d")
      d = std::stoull(v);
    else if (a == "--words")
      words = std::stoull(v);
    else if (a == "--wdim")
      wdim = std::stoull(v);
    else if (a == "--reps")
      reps = std::stoi(v);
    else
      fail(Exit::usage, "bench_io", a, "unknown option (expected --dir --n --d --words --wdim --reps)");
  }
  if (dir.empty()) fail(Exit::usage, "bench_io", "--dir", "is required (the generated files are left there)");
  fs::create_directories(dir);
  const fs::path st = fs::path(dir) / "wte.safetensors", npy = fs::path(dir) / "wte.npy",
                 txt = fs::path(dir) / "words.txt";

  Rng rng(20261126);
  {  // one matrix, two containers
    arma::fmat E(d, n);
    for (auto& x : E) x = static_cast<float>(rng.normal());
    const std::string json =
        fmt::format(R"({{"wte.weight":{{"dtype":"F32","shape":[{},{}],"data_offsets":[0,{}]}}}})", n, d, n * d * 4);
    std::string len(8, '\0');
    for (int b = 0; b < 8; ++b) len[b] = static_cast<char>((json.size() >> (8 * b)) & 0xFF);
    write_bytes(st, len + json, E.memptr(), E.n_elem);
    std::string h = fmt::format("{{'descr': '<f4', 'fortran_order': False, 'shape': ({}, {}), }}", n, d);
    h.append(64 - (10 + h.size() + 1) % 64, ' ');  // header padded so the data starts 64-aligned
    h += '\n';
    const std::string magic =
        std::string("\x93NUMPY\x01\x00", 8) + static_cast<char>(h.size() & 0xFF) + static_cast<char>(h.size() >> 8);
    write_bytes(npy, magic + h, E.memptr(), E.n_elem);
  }
  {
    fmt::memory_buffer text;
    fmt::format_to(std::back_inserter(text), "{} {}\n", words, wdim);
    for (std::uint64_t j = 0; j < words; ++j) {
      fmt::format_to(std::back_inserter(text), "w{}", j);
      for (std::uint64_t i = 0; i < wdim; ++i) fmt::format_to(std::back_inserter(text), " {:.5f}", 0.5 * rng.normal());
      text.push_back('\n');
    }
    write_bytes(txt, std::string(text.data(), text.size()), nullptr, 0);
  }

  std::size_t size = 0;
  for (const fs::path& p : {st, npy, txt}) (void)read_all(p.string(), false, size);  // warm the page cache
  const double t_read = best_of(reps, [&] { (void)read_all(st.string(), false, size); });
  const double t_huge = best_of(reps, [&] { (void)read_all(st.string(), true, size); });
  const auto bytes = read_all(st.string(), true, size);
  const double t_hash = best_of(reps, [&] { (void)sha256_hex(std::string_view(bytes.get(), size)); });
  const double t_st = load_seconds(st.string(), "safetensors", reps);
  const double t_npy = load_seconds(npy.string(), "npy", reps);
  const double t_txt = load_seconds(txt.string(), "word2vec", std::max(1, reps / 2));
  const double mb = static_cast<double>(fs::file_size(st)) / 1e6, tmb = static_cast<double>(fs::file_size(txt)) / 1e6;

  fmt::print("## bench_io: {}×{} F32 ({:.0f} MB) and {}×{} word2vec text ({:.0f} MB), best of {}\n\n", n, d, mb, words,
             wdim, tmb, reps);
  fmt::print("| load | seconds | GB/s | note |\n|---|---|---|---|\n");
  fmt::print("| read(2) the safetensors bytes | {:.4f} | {:.2f} | fresh malloc buffer, warm cache |\n", t_read,
             mb / 1e3 / t_read);
  fmt::print("| read(2), huge-page buffer | {:.4f} | {:.2f} | the floor: how the loaders allocate |\n", t_huge,
             mb / 1e3 / t_huge);
  fmt::print("| SHA-256 of the bytes | {:.4f} | {:.2f} | OpenSSL; the provenance every load records |\n", t_hash,
             mb / 1e3 / t_hash);
  fmt::print("| safetensors → Embeddings | {:.4f} | {:.2f} | {:.2f}× the read, {:.2f}× the floor, {:.2f}× the hash |\n",
             t_st, mb / 1e3 / t_st, t_st / t_read, t_st / t_huge, t_st / std::max(t_huge, t_hash));
  fmt::print("| npy → Embeddings | {:.4f} | {:.2f} | |\n", t_npy, mb / 1e3 / t_npy);
  fmt::print("| word2vec text → Embeddings | {:.3f} | {:.2f} | {} lines |\n", t_txt, tmb / 1e3 / t_txt, words);
  fmt::print("peak RSS {:.0f} MB\n", static_cast<double>(peak_rss_bytes()) / 1e6);
  fmt::print("RESULT read={:.6f} read_huge={:.6f} sha256={:.6f} safetensors={:.6f} npy={:.6f} text={:.6f}\n", t_read,
             t_huge, t_hash, t_st, t_npy, t_txt);
  return 0;
}

}  // namespace

int main(int argc, char** argv) { return embedlab::bench::guarded_main(run, argc, argv); }
