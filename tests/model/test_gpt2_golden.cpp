// The GPT-2 forward pass against Hugging Face transformers (float64) on the golden checkpoints in
// tests/data/gpt2-golden/, plus the KV cache, chunked feeding and the error contract.
#include <boost/test/unit_test.hpp>

#include "core/error.hpp"
#include "core/threads.hpp"
#include "io/gpt2_checkpoint.hpp"
#include "model/gpt2.hpp"
#include "testing.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <numeric>
#include <string>
#include <utility>
#include <vector>

namespace tt = boost::test_tools;
using embedlab::Error;
using embedlab::Exit;
using embedlab::model::ForwardOptions;
using embedlab::model::Gpt2;
using embedlab::model::Gpt2Session;
using embedlab::model::Logits;
using embedlab::test::Tol;

namespace {

nlohmann::json read_json(const std::string& path) {
  std::ifstream in(path);
  BOOST_REQUIRE_MESSAGE(in, "cannot open " << path);
  return nlohmann::json::parse(in);
}

// Indices of the k largest values of a column, ties → lowest id (the order torch.topk gives for
// distinct values; ties are handled by the comparison below).
std::vector<int> topk(const arma::fmat& z, arma::uword col, int k) {
  std::vector<int> idx(z.n_rows);
  std::iota(idx.begin(), idx.end(), 0);
  const float* v = z.colptr(col);
  std::partial_sort(idx.begin(), idx.begin() + k, idx.end(),
                    [&](int a, int b) { return v[a] > v[b] || (v[a] == v[b] && a < b); });
  idx.resize(static_cast<std::size_t>(k));
  return idx;
}

struct GoldenStats {
  double max_logit_err = 0.0, max_hidden_rel = 0.0;
};

// Every case of one golden file against the checkpoint in `model_dir`.
GoldenStats check_golden(const std::string& model_dir, const std::string& golden_path) {
  const auto ckpt = embedlab::io::load_gpt2(model_dir);
  const Gpt2 model(ckpt);
  const auto golden = read_json(golden_path);
  GoldenStats stats;
  const auto C = static_cast<arma::uword>(model.n_embd());
  const auto V = static_cast<arma::uword>(model.vocab_size());
  for (const auto& c : golden.at("cases")) {
    const auto ids = c.at("input_ids").get<std::vector<int>>();
    const auto T = static_cast<arma::uword>(ids.size());
    BOOST_TEST_CONTEXT(model_dir << " case of " << T << " tokens") {
      const auto r = model.forward(ids);
      BOOST_REQUIRE_EQUAL(r.logits.n_rows, V);
      BOOST_REQUIRE_EQUAL(r.logits.n_cols, T);
      BOOST_REQUIRE_EQUAL(r.final_hidden.n_rows, C);
      BOOST_REQUIRE_EQUAL(r.final_hidden.n_cols, T);

      // logits: within a small multiple of the reference's own float32-vs-float64 spread
      const double tol = 10.0 * c.at("max_abs_f32_vs_f64_logits").get<double>() + 10.0 * Tol<float>::sum;
      double err = 0.0;
      if (c.contains("logits_f64")) {
        const auto& ref = c.at("logits_f64");
        BOOST_REQUIRE_EQUAL(ref.size(), T);
        for (arma::uword t = 0; t < T; ++t) {
          const auto row = ref[t].get<std::vector<double>>();
          BOOST_REQUIRE_EQUAL(row.size(), V);
          for (arma::uword v = 0; v < V; ++v) err = std::max(err, std::abs(r.logits(v, t) - row[v]));
        }
      }
      const auto last = c.at("last_logits_f64").get<std::vector<double>>();
      BOOST_REQUIRE_EQUAL(last.size(), V);
      for (arma::uword v = 0; v < V; ++v) err = std::max(err, std::abs(r.logits(v, T - 1) - last[v]));
      BOOST_TEST(err <= tol, "max |logit error| " << err << " > " << tol);
      stats.max_logit_err = std::max(stats.max_logit_err, err);

      // final hidden state (after ln_f): per position, |h − ref| ≤ 1e-4 · |ref|
      const auto& hid = c.at("last_hidden_f64");
      BOOST_REQUIRE_EQUAL(hid.size(), T);
      for (arma::uword t = 0; t < T; ++t) {
        const auto row = hid[t].get<std::vector<double>>();
        BOOST_REQUIRE_EQUAL(row.size(), C);
        double d2 = 0.0, n2 = 0.0;
        for (arma::uword i = 0; i < C; ++i) {
          const double d = r.final_hidden(i, t) - row[i];
          d2 += d * d;
          n2 += row[i] * row[i];
        }
        const double rel = std::sqrt(d2 / n2);
        BOOST_TEST(rel <= Tol<float>::loose, "position " << t << ": relative hidden error " << rel);
        stats.max_hidden_rel = std::max(stats.max_hidden_rel, rel);
      }

      // top-10 per position, tie-aware: a different id at some rank is accepted only when our
      // logits of the two ids agree within the logit tolerance.
      const auto& top = c.at("top10_ids_per_pos");
      BOOST_REQUIRE_EQUAL(top.size(), T);
      for (arma::uword t = 0; t < T; ++t) {
        const auto ref = top[t].get<std::vector<int>>();
        const auto ours = topk(r.logits, t, static_cast<int>(ref.size()));
        for (std::size_t k = 0; k < ref.size(); ++k) {
          if (ours[k] == ref[k]) continue;
          const double gap =
              std::abs(r.logits(static_cast<arma::uword>(ours[k]), t) - r.logits(static_cast<arma::uword>(ref[k]), t));
          BOOST_TEST(gap <= tol, "position " << t << " rank " << k << ": id " << ours[k] << " vs reference " << ref[k]
                                             << " (logit gap " << gap << ")");
        }
      }

      // greedy continuation with the KV cache
      const auto greedy = model.generate_greedy(ids, 8);
      const auto ref_greedy = c.at("greedy_next8").get<std::vector<int>>();
      BOOST_TEST(greedy == ref_greedy, tt::per_element());
    }
  }
  BOOST_TEST_MESSAGE(model_dir << ": max |logit error| " << stats.max_logit_err << ", max relative hidden error "
                               << stats.max_hidden_rel);
  return stats;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(gpt2_golden)

BOOST_AUTO_TEST_CASE(micro_gpt2_tied) {
  EMBEDLAB_FIXTURE(dir, "gpt2-golden/micro-gpt2");
  EMBEDLAB_FIXTURE(golden, "gpt2-golden/micro-gpt2.golden.json");
  check_golden(dir, golden);
}

BOOST_AUTO_TEST_CASE(micro_gpt2_untied_lm_head) {
  EMBEDLAB_FIXTURE(dir, "gpt2-golden/micro-gpt2-untied");
  EMBEDLAB_FIXTURE(golden, "gpt2-golden/micro-gpt2-untied.golden.json");
  const auto ckpt = embedlab::io::load_gpt2(dir);
  BOOST_TEST(!ckpt.tied);
  check_golden(dir, golden);
}

BOOST_AUTO_TEST_CASE(micro_gpt2_hub_layout_same_numbers) {
  EMBEDLAB_FIXTURE(dir, "gpt2-golden/micro-gpt2-hub-layout");
  EMBEDLAB_FIXTURE(golden, "gpt2-golden/micro-gpt2.golden.json");
  check_golden(dir, golden);
}

BOOST_AUTO_TEST_CASE(tiny_gpt2_real_vocab) {
  EMBEDLAB_FIXTURE(dir, "gpt2-golden/tiny-gpt2");
  EMBEDLAB_FIXTURE(golden, "gpt2-golden/tiny-gpt2.golden.json");
  check_golden(dir, golden);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(gpt2_cache)

// Generation with the KV cache equals recomputing the whole sequence at every step.
BOOST_AUTO_TEST_CASE(kv_cache_generation_equals_full_recompute) {
  EMBEDLAB_FIXTURE(dir, "gpt2-golden/tiny-gpt2");
  const auto ckpt = embedlab::io::load_gpt2(dir);
  const Gpt2 model(ckpt);
  const std::vector<int> prompt = {464, 3797, 3332, 319, 262};
  const int n = 12;
  const auto cached = model.generate_greedy(prompt, n);
  BOOST_REQUIRE_EQUAL(cached.size(), static_cast<std::size_t>(n));

  std::vector<int> seq = prompt;
  Gpt2Session s(model, static_cast<int>(prompt.size()) + n);
  const arma::fmat* z = &s.feed(prompt, Logits::last);
  for (int k = 0; k < n; ++k) {
    const auto full = model.forward(seq, ForwardOptions{Logits::last, false});
    // the cached step's logits agree with the full forward's last position
    const double scale = std::max(1.0, static_cast<double>(arma::abs(full.logits).max()));
    BOOST_TEST(arma::abs(*z - full.logits).max() <= Tol<float>::sum * scale);
    const int next = static_cast<int>(embedlab::model::argmax_lowest(full.logits.memptr(), full.logits.n_rows));
    BOOST_TEST(next == cached[static_cast<std::size_t>(k)]);
    seq.push_back(next);
    if (k + 1 < n) z = &s.feed(std::vector<int>{cached[static_cast<std::size_t>(k)]}, Logits::last);
  }
}

// Feeding a sequence in chunks gives the same logits as feeding it at once.
BOOST_AUTO_TEST_CASE(chunked_feed_equals_one_shot) {
  EMBEDLAB_FIXTURE(dir, "gpt2-golden/micro-gpt2");
  const auto ckpt = embedlab::io::load_gpt2(dir);
  const Gpt2 model(ckpt);
  std::vector<int> ids(20);
  for (std::size_t i = 0; i < ids.size(); ++i) ids[i] = static_cast<int>((i * 37 + 11) % 512);
  const auto full = model.forward(ids);
  Gpt2Session s(model, model.n_positions());
  const arma::fmat a = s.feed(std::span<const int>(ids).first(7), Logits::all);
  const arma::fmat b = s.feed(std::span<const int>(ids).subspan(7), Logits::all);
  BOOST_TEST(s.position() == 20);
  const arma::fmat both = arma::join_rows(a, b);
  const double scale = std::max(1.0, static_cast<double>(arma::abs(full.logits).max()));
  BOOST_TEST(arma::abs(both - full.logits).max() <= Tol<float>::sum * scale);
}

// The forward pass spreads fixed blocks of work over threads() workers (at most n_head): the logits
// of a prompt and of a generated token are bit-identical for every thread count (5 > n_head = 4).
BOOST_AUTO_TEST_CASE(thread_count_does_not_change_results) {
  EMBEDLAB_FIXTURE(dir, "gpt2-golden/tiny-gpt2");  // C = 64, n_inner 256: several blocks
  const auto ckpt = embedlab::io::load_gpt2(dir);
  const Gpt2 model(ckpt);
  std::vector<int> ids(20);
  for (std::size_t i = 0; i < ids.size(); ++i) ids[i] = static_cast<int>((i * 53 + 7) % 50257);
  const auto step = [&] {  // the prompt's logits, then one generated token's
    Gpt2Session s(model, 21);
    const arma::fmat prompt = s.feed(ids, Logits::all);
    const int next = static_cast<int>(embedlab::model::argmax_lowest(prompt.colptr(19), prompt.n_rows));
    return std::pair{prompt, arma::fmat(s.feed(std::span<const int>(&next, 1), Logits::last))};
  };
  const int previous = embedlab::threads();
  embedlab::set_threads(1);
  const auto [prompt1, token1] = step();
  for (const int n : {2, 3, 5}) {
    BOOST_TEST_CONTEXT(n << " threads") {
      embedlab::set_threads(n);
      const auto [prompt_n, token_n] = step();
      BOOST_TEST(arma::approx_equal(prompt_n, prompt1, "absdiff", 0.0f));
      BOOST_TEST(arma::approx_equal(token_n, token1, "absdiff", 0.0f));
    }
  }
  embedlab::set_threads(previous);
}

// Hidden states per block: hidden[L] through ln_f is the final hidden state, its logit lens the logits.
BOOST_AUTO_TEST_CASE(hidden_states_and_logit_lens) {
  EMBEDLAB_FIXTURE(dir, "gpt2-golden/micro-gpt2");
  const auto ckpt = embedlab::io::load_gpt2(dir);
  const Gpt2 model(ckpt);
  const std::vector<int> ids = {1, 2, 3, 4, 5};
  const auto r = model.forward(ids, ForwardOptions{Logits::all, true});
  BOOST_REQUIRE_EQUAL(r.hidden.size(), static_cast<std::size_t>(model.n_layer() + 1));
  for (const auto& h : r.hidden) {
    BOOST_TEST(h.n_rows == static_cast<arma::uword>(model.n_embd()));
    BOOST_TEST(h.n_cols == ids.size());
  }
  // hidden[0] is wte + wpe exactly
  const arma::fmat e0 = ckpt.wte().col(1) + ckpt.get("wpe.weight").col(0);
  BOOST_TEST(arma::approx_equal(r.hidden[0].col(0), e0, "absdiff", 0.0f));
  BOOST_TEST(arma::approx_equal(model.ln_f(r.hidden.back()), r.final_hidden, "absdiff", 0.0f));
  const arma::fmat lens = model.logit_lens(r.hidden.back());
  BOOST_TEST(arma::approx_equal(lens, r.logits, "absdiff", static_cast<float>(Tol<float>::sum)));
  // one hidden vector through the lens
  const arma::fmat z2 = model.logits(r.final_hidden.col(2));
  BOOST_TEST(arma::approx_equal(z2, r.logits.col(2), "absdiff", static_cast<float>(Tol<float>::sum)));
  // last-only logits are the last column
  const auto rl = model.forward(ids, ForwardOptions{Logits::last, false});
  BOOST_REQUIRE_EQUAL(rl.logits.n_cols, 1u);
  BOOST_TEST(arma::approx_equal(rl.logits.col(0), r.logits.col(4), "absdiff", static_cast<float>(Tol<float>::sum)));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(gpt2_errors)

BOOST_AUTO_TEST_CASE(prompt_longer_than_n_positions) {
  EMBEDLAB_FIXTURE(dir, "gpt2-golden/micro-gpt2");
  const auto ckpt = embedlab::io::load_gpt2(dir);
  const Gpt2 model(ckpt);
  const std::vector<int> ids(static_cast<std::size_t>(model.n_positions()) + 1, 7);
  try {
    model.forward(ids);
    BOOST_FAIL("no error for a prompt of 65 tokens");
  } catch (const Error& e) {
    BOOST_TEST(e.exit_code() == static_cast<int>(Exit::usage));
    const std::string msg = e.what();
    BOOST_TEST_MESSAGE(msg);
    BOOST_TEST(msg.find("65") != std::string::npos);
    BOOST_TEST(msg.find("64") != std::string::npos);
  }
  // exactly n_positions is fine; generation that needs more positions is refused
  const std::vector<int> full(static_cast<std::size_t>(model.n_positions()), 7);
  BOOST_CHECK_NO_THROW(model.forward(full, ForwardOptions{Logits::last, false}));
  BOOST_CHECK_NO_THROW(model.generate_greedy(full, 1));
  BOOST_CHECK_THROW(model.generate_greedy(full, 2), Error);
}

BOOST_AUTO_TEST_CASE(bad_ids_and_empty_prompt) {
  EMBEDLAB_FIXTURE(dir, "gpt2-golden/micro-gpt2");
  const auto ckpt = embedlab::io::load_gpt2(dir);
  const Gpt2 model(ckpt);
  for (const std::vector<int>& ids : {std::vector<int>{1, 512}, std::vector<int>{-1}, std::vector<int>{}}) {
    try {
      model.forward(ids);
      BOOST_FAIL("no error for bad ids");
    } catch (const Error& e) {
      BOOST_TEST(e.exit_code() == static_cast<int>(Exit::usage));
      BOOST_TEST_MESSAGE(e.what());
    }
  }
  BOOST_CHECK_THROW(model.generate_greedy(std::vector<int>{1}, -1), Error);
}

BOOST_AUTO_TEST_CASE(wrong_tensor_shape_is_refused) {
  EMBEDLAB_FIXTURE(dir, "gpt2-golden/micro-gpt2");
  auto ckpt = embedlab::io::load_gpt2(dir);
  ckpt.tensors["h.1.attn.c_attn.weight"] = arma::fmat(48, 144, arma::fill::zeros);  // transposed
  try {
    const Gpt2 model(ckpt);
    BOOST_FAIL("no error for a transposed c_attn weight");
  } catch (const Error& e) {
    BOOST_TEST(e.exit_code() == static_cast<int>(Exit::data));
    const std::string msg = e.what();
    BOOST_TEST_MESSAGE(msg);
    BOOST_TEST(msg.find("h.1.attn.c_attn.weight") != std::string::npos);
    BOOST_TEST(msg.find("[144, 48]") != std::string::npos);
    BOOST_TEST(msg.find("[48, 144]") != std::string::npos);
  }
}

BOOST_AUTO_TEST_SUITE_END()
