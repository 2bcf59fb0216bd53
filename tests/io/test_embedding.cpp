// load_embeddings' dispatch: the format told from the name, and a bare NAME.gz (how gensim-data
// ships GloVe and where `embedlab fetch glove-*` puts it) read as gzip word text.
#include <zlib.h>
#include <boost/test/unit_test.hpp>

#include "binary_writers.hpp"
#include "io/embedding.hpp"
#include "io/readers.hpp"
#include "testing.hpp"

using namespace embedlab;
using namespace embedlab::io;
using embedlab::test::check_error;

BOOST_AUTO_TEST_SUITE(embedding_dispatch)

BOOST_AUTO_TEST_CASE(format_from_name) {
  const std::pair<const char*, const char*> cases[] = {{"m.safetensors", "safetensors"},
                                                       {"M.SAFETENSORS", "safetensors"},
                                                       {"x.npy", "npy"},
                                                       {"x.h5", "hdf5"},
                                                       {"x.hdf5", "hdf5"},
                                                       {"w.bin", "word2vec-bin"},
                                                       {"g.txt", "glove"},
                                                       {"g.vec", "glove"},
                                                       {"g.txt.gz", "glove"},
                                                       {"g.vec.gz", "glove"},
                                                       {"glove-wiki-gigaword-50.gz", "glove"}};
  for (const auto& [name, format] : cases) BOOST_TEST(detect_format(name) == format, name);
  check_error([] { detect_format("weights.pt"); }, "cannot tell the format from the name", Exit::usage);
}

BOOST_AUTO_TEST_CASE(bare_gz_is_word_text) {
  const test::TempDir dir;
  const std::string text = "2 3\ncat 1 2 3\ndog 4 5 6.5\n";
  const std::string gz = dir.file("vectors.gz");
  gzFile f = gzopen(gz.c_str(), "wb");
  BOOST_REQUIRE(f != nullptr);
  BOOST_REQUIRE(gzwrite(f, text.data(), static_cast<unsigned>(text.size())) == static_cast<int>(text.size()));
  BOOST_REQUIRE(gzclose(f) == Z_OK);
  LoadOptions o;
  o.path = gz;
  const Embeddings e = load_embeddings(o);
  BOOST_TEST(e.tokens == (std::vector<std::string>{"cat", "dog"}), boost::test_tools::per_element());
  BOOST_TEST(e.vectors(2, 1) == 6.5f);
  BOOST_TEST(e.source.dtype == "text (gzip)");
}

BOOST_AUTO_TEST_SUITE_END()
