// End to end: configs/logit_lens.ini on the golden micro-gpt2, offline through --set with id
// prompts: the last layer's lens is the model's own output.
#include <boost/test/unit_test.hpp>

#include "e2e_util.hpp"
#include "io/h5_results.hpp"

#include <nlohmann/json.hpp>

#include <fstream>

using namespace embedlab;
using namespace embedlab::test;
namespace fs = std::filesystem;

BOOST_AUTO_TEST_SUITE(logit_lens_e2e)

BOOST_AUTO_TEST_CASE(last_layer_top1_is_the_greedy_next_token) {
  EMBEDLAB_FIXTURE(model, "gpt2-golden/micro-gpt2");
  EMBEDLAB_FIXTURE(gold_path, "gpt2-golden/micro-gpt2.golden.json");
  std::ifstream in(gold_path);
  const auto gold = nlohmann::json::parse(in);
  std::string ids;
  for (const auto& c : gold["cases"]) {
    ids += ids.empty() ? "" : ", ";
    for (std::size_t i = 0; i < c["input_ids"].size(); ++i)
      ids += (i ? " " : "") + std::to_string(c["input_ids"][i].get<int>());
  }
  TempDir dir;
  const auto r =
      run_command(fmt::format("{} {} --results '{}' --quiet --set model.path='{}' --set prompts.text= "
                              "--set 'prompts.ids={}' --set report.plots=false --set output.top_k=3",
                              bin("run_experiment"), source("configs/logit_lens.ini"), dir.file("results"), model, ids),
                  dir);
  BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  const std::string run = only_run_dir(dir.file("results"), "logit_lens");
  io::H5ResultReader h5((fs::path(run) / "results.h5").string());
  BOOST_TEST(!h5.attr_string("/", "headline").empty());
  for (std::size_t c = 0; c < gold["cases"].size(); ++c) {
    const std::string g = fmt::format("/prompts/{}", c);
    const auto shape = h5.shape(g + "/top_ids");
    BOOST_REQUIRE((shape == std::vector<std::uint64_t>{4, 3}));  // embeddings + 3 blocks, top-3
    const auto top = h5.read_doubles(g + "/top_ids");            // row-major (layers, k)
    const double greedy = gold["cases"][c]["greedy_next8"][0].get<double>();
    BOOST_TEST(top[3 * 3] == greedy);
    BOOST_TEST(h5.attr_double(g, "final_token") == greedy);
    // The reference's top-3 at the last position is the last layer's lens.
    const auto& ref = gold["cases"][c]["top10_ids_per_pos"].back();
    for (int j = 0; j < 3; ++j) BOOST_TEST(top[9 + j] == ref[j].get<double>());
    const auto rank = h5.read_doubles(g + "/final_rank"), prob = h5.read_doubles(g + "/final_prob");
    BOOST_REQUIRE_EQUAL(rank.size(), 4u);
    BOOST_TEST(rank.back() == 1.0);
    for (std::size_t l = 0; l < rank.size(); ++l) {
      BOOST_TEST((rank[l] >= 1.0 && rank[l] <= 512.0));
      BOOST_TEST((prob[l] > 0.0 && prob[l] <= 1.0));
    }
    const auto logits = h5.read_doubles(g + "/top_logits");
    for (std::size_t l = 0; l < 4; ++l) BOOST_TEST(logits[3 * l] >= logits[3 * l + 1]);
  }
  const std::string report = read_file((fs::path(run) / "report.md").string());
  BOOST_TEST(report.find("| layer | top-3 tokens | rank of final | p(final) |") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()
