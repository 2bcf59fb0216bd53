// Memory guard pieces: --max-memory sizes, the MemAvailable default, and shape probes that agree
// with what the loaders actually return (without reading the data).
#include <boost/test/unit_test.hpp>

#include "core/error.hpp"
#include "experiment/memory.hpp"
#include "io/embedding.hpp"
#include "testing.hpp"

using namespace embedlab;
using namespace embedlab::experiment;
using embedlab::test::TempDir;
using embedlab::test::write_file;

BOOST_AUTO_TEST_SUITE(memory)

BOOST_AUTO_TEST_CASE(sizes) {
  BOOST_TEST(parse_size("64M") == 64ull << 20);
  BOOST_TEST(parse_size("2G") == 2ull << 30);
  BOOST_TEST(parse_size("1.5G") == 3ull << 29);
  BOOST_TEST(parse_size("512K") == 512ull << 10);
  BOOST_TEST(parse_size("512k") == 512ull << 10);
  BOOST_TEST(parse_size("123456") == 123456ull);
  BOOST_TEST(parse_size("7MiB") == 7ull << 20);
  BOOST_TEST(parse_size("1T") == 1ull << 40);
  for (const char* bad : {"", "abc", "12X", "-1", "0", "1.2.3G", "G", "0.1", "1e9", "5 M"}) {
    BOOST_CHECK_EXCEPTION(parse_size(bad), Error, [&](const Error& e) {
      BOOST_TEST(e.exit_code() == 64, bad);
      return std::string(e.what()).starts_with("--max-memory: ");
    });
  }
  BOOST_TEST(format_bytes(9.4 * (1ull << 30)) == "9.4 GiB");
  BOOST_TEST(format_bytes(512) == "512 bytes");
}

BOOST_AUTO_TEST_CASE(default_limit_is_80_percent_of_mem_available) {
  TempDir dir;
  write_file(dir.file("meminfo"), "MemTotal:       24000000 kB\nMemFree:  100 kB\nMemAvailable:   10000000 kB\n");
  const auto l = default_memory_limit(dir.file("meminfo"));
  BOOST_TEST(l.bytes == 10000000ull * 1024 * 8 / 10);
  BOOST_TEST(l.source == "80% of MemAvailable");
  const auto none = default_memory_limit(dir.file("missing"));
  BOOST_TEST(none.bytes == ~0ull);
}

BOOST_AUTO_TEST_CASE(probes_agree_with_the_loaders) {
  EMBEDLAB_FIXTURE(glove, "glove-6B-50d-subset/glove.6B.50d.subset3091.txt");
  EMBEDLAB_FIXTURE(wpe, "gpt2-wpe/gpt2-wpe-lnf.safetensors");
  EMBEDLAB_FIXTURE(wpe_npy, "gpt2-wpe/wpe.npy");
  EMBEDLAB_FIXTURE(tiny, "gpt2-golden/tiny-gpt2");
  EMBEDLAB_FIXTURE(vec, "peer-files/crime-and-punishment.vec");
  EMBEDLAB_FIXTURE(bin, "peer-files/euclidean_vectors.bin");
  const auto options = [](const std::string& path, const std::string& tensor = "") {
    io::LoadOptions o;
    o.path = path;
    o.tensor = tensor;
    return o;
  };
  std::vector<io::LoadOptions> cases = {options(glove), options(wpe, "wpe.weight"), options(wpe_npy),
                                        options(tiny),  options(tiny, "wpe"),       options(vec),
                                        options(bin)};
  io::LoadOptions limited = options(glove);
  limited.limit = 100;
  cases.push_back(limited);
  io::LoadOptions cut = options(wpe_npy);
  cut.limit = 10;
  cases.push_back(cut);
  for (const auto& o : cases) {
    const auto s = probe_shape(o);
    const auto e = io::load_embeddings(o);
    BOOST_TEST_CONTEXT(o.path << " " << o.tensor << " limit " << o.limit.value_or(0) << " (" << s.how << ")") {
      BOOST_TEST(s.rows == e.rows());
      BOOST_TEST(s.dim == e.dim());
      BOOST_TEST(s.read_rows >= s.rows);
    }
  }
  BOOST_TEST(probe_shape(cut).read_rows == 1024u);  // npy is read whole before the limit cuts it
}

BOOST_AUTO_TEST_SUITE_END()
