// weight_tying: GPT-2's output layer is its input embedding matrix (W_out = E, lesson point 4), so
// a next-token logit is z_i = v_i·h = |v_i|·|h|·cos θ_i (lesson point 6). Checks the tying in the
// checkpoint, rebuilds the model's logits from E and the final hidden state, and measures how much
// of the ranking of z the angle and the norm each explain.
#include "experiments/experiments.hpp"
#include "experiments/gpt2_prompts.hpp"
#include "report/report.hpp"
#include "stats/correlation.hpp"
#include "stats/information.hpp"
#include "stats/logit_decomposition.hpp"

#include <fmt/format.h>

#include <numeric>

namespace embedlab::experiments {

namespace {

using experiment::Context;
using experiment::Schema;

struct Config : gpt2_prompts::Keys {
  std::int64_t top_k = 0;
  std::int64_t plot_sample = 0;
};

void declare(Schema<Config>& s) {
  gpt2_prompts::declare(s, "The cat sat on the, Once upon a time there was a, The capital of France is");
  s.key("output.top_k", &Config::top_k, "10", "next tokens listed per prompt").range(1, 1000);
  s.key("plot.sample", &Config::plot_sample, "3000", "random tokens drawn in the scatter of z against cos θ")
      .range(0, 1000000);
}

// The weights dominate; a few vocabulary-sized vectors per prompt.
void memory(const Config& c, const experiment::Shapes&, std::vector<experiment::Allocation>& out) {
  gpt2_prompts::model_memory(c, 6, out);
}

void run(const Config& c, Context& ctx) {
  const auto L = gpt2_prompts::load(c, ctx);
  const auto& m = *L.model;
  auto& md = *ctx.md;
  const arma::fmat& E = L.ckpt.wte();
  const arma::fmat& W = L.ckpt.output();  // C×V, the matrix the model's logits come from

  // The tying itself: identical tensors when lm_head is absent, else the largest difference.
  const double tie_diff = L.ckpt.tied ? 0.0 : static_cast<double>(arma::abs(W - E).max());
  ctx.h5->attr("/tying", "tied", static_cast<std::int64_t>(L.ckpt.tied ? 1 : 0));
  ctx.h5->attr("/tying", "max_abs_diff", tie_diff);
  ctx.h5->attr("/tying", "config_tie_word_embeddings", static_cast<std::int64_t>(m.config().tie_word_embeddings));
  ctx.h5->attr("/tying", "lm_head_in_file", static_cast<std::int64_t>(L.ckpt.lm_head_in_file ? 1 : 0));
  ctx.h5->attr("/tying", "output_matrix", L.ckpt.output_source());
  ctx.h5->attr("/tying", "vocab_size", static_cast<std::int64_t>(m.vocab_size()));
  ctx.h5->attr("/tying", "n_embd", static_cast<std::int64_t>(m.n_embd()));
  md.heading(2, "Is the output layer the embedding matrix?");
  md.paragraph(
      L.ckpt.tied
          ? fmt::format("`{}`: the output layer **is** the token embedding matrix E ({} × {}), so max |W_out − E| "
                        "= 0 exactly. Output matrix: {}.",
                        L.ckpt.dir, m.vocab_size(), m.n_embd(), L.ckpt.output_source())
          : fmt::format("`{}` has its own `lm_head.weight`: the output layer is **not tied**; max |W_out − E| = {}. "
                        "Below, logits and their decomposition use W_out (the matrix the model really uses).",
                        L.ckpt.dir, report::num(tie_diff)));

  std::vector<std::vector<std::string>> summary;
  double sum_rho_cos = 0, max_rel = 0;
  for (std::size_t pi = 0; pi < L.prompts.size(); ++pi) {
    const auto& p = L.prompts[pi];
    const std::string g = fmt::format("/prompts/{}", pi);
    model::ForwardOptions fo;
    fo.logits = model::Logits::last;
    const auto fr = m.forward(p.ids, fo);
    const arma::fvec h = fr.final_hidden.col(fr.final_hidden.n_cols - 1);  // C, after ln_f
    const arma::vec logits = arma::conv_to<arma::vec>::from(fr.logits.col(0));
    const auto d = stats::decompose_logits(W, h);
    const auto err = stats::reconstruction_error(d);
    const double logit_diff = arma::abs(d.z - logits).max();
    // E·h against the model's logits: 0 up to rounding exactly when the model is tied.
    const double e_logit_diff = L.ckpt.tied ? logit_diff : arma::abs(stats::decompose_logits(E, h).z - logits).max();
    const double rho_cos = stats::spearman(d.z, d.cos), rho_norm = stats::spearman(d.z, d.norms);
    const arma::vec prob = stats::softmax(d.z);
    const auto top = stats::top_k_indices(d.z, static_cast<std::size_t>(c.top_k));

    std::vector<std::int64_t> ids(p.ids.begin(), p.ids.end()), top_ids;
    std::vector<double> tz, tn, tc, tp;
    std::vector<std::string> tnames;
    std::vector<std::vector<std::string>> rows;
    for (std::size_t r = 0; r < top.size(); ++r) {
      const auto i = top[r];
      top_ids.push_back(static_cast<std::int64_t>(i));
      tz.push_back(d.z(i));
      tn.push_back(d.norms(i));
      tc.push_back(d.cos(i));
      tp.push_back(prob(i));
      tnames.push_back(L.token(static_cast<int>(i)));
      rows.push_back({std::to_string(r + 1), tnames.back(), std::to_string(i), report::num(d.z(i)),
                      report::num(d.norms(i)), report::num(d.cos(i)), report::num(prob(i))});
    }
    ctx.h5->write(g + "/input_ids", ids, {"token id", "the prompt's token ids"});
    ctx.h5->write(g + "/h", arma::conv_to<arma::vec>::from(h),
                  {"1", "final hidden state (after ln_f) at the last position"});
    ctx.h5->write(g + "/top_ids", top_ids, {"token id", "the top-k next tokens by logit, descending"});
    ctx.h5->write(g + "/top_tokens", tnames, {"1", "printable names of the top-k tokens"});
    ctx.h5->write(g + "/top_logit", tz, {"logit", "z_i = v_i·h of the top-k tokens"});
    ctx.h5->write(g + "/top_norm", tn, {"1", "|v_i| of the top-k tokens' output vectors"});
    ctx.h5->write(g + "/top_cos", tc, {"1", "cos θ_i between v_i and h for the top-k tokens"});
    ctx.h5->write(g + "/top_prob", tp, {"probability", "softmax(z)_i of the top-k tokens"});
    ctx.h5->attr(g, "prompt", p.label);
    ctx.h5->attr(g, "h_norm", d.h_norm);
    ctx.h5->attr(g, "logits_max_abs_diff", logit_diff);
    ctx.h5->attr(g, "e_logits_max_abs_diff", e_logit_diff);
    ctx.h5->attr(g, "model_argmax",
                 static_cast<std::int64_t>(model::argmax_lowest(fr.logits.colptr(0), fr.logits.n_rows)));
    ctx.h5->attr(g, "decomposition_max_abs_error", err.max_abs);
    ctx.h5->attr(g, "decomposition_max_rel_error", err.max_rel);
    ctx.h5->attr(g, "spearman_z_cos", rho_cos);
    ctx.h5->attr(g, "spearman_z_norm", rho_norm);
    ctx.h5->attr(g, "entropy", stats::entropy(prob));
    sum_rho_cos += rho_cos;
    max_rel = std::max(max_rel, err.max_rel);

    md.heading(3, fmt::format("Prompt {}: {}", pi + 1, p.label));
    md.paragraph(fmt::format(
        "{} tokens; |h| = {}; max |W_out·h − logits| = {}; max |E·h − logits| = {}; "
        "decomposition z = |v||h|cos θ: max abs error {} (relative {}); Spearman(z, cos θ) = {}, "
        "Spearman(z, |v|) = {} over {} tokens.",
        p.ids.size(), report::num(d.h_norm), report::num(logit_diff), report::num(e_logit_diff),
        report::num(err.max_abs), report::num(err.max_rel), report::num(rho_cos), report::num(rho_norm), d.z.n_elem));
    md.table({"rank", "token", "id", "logit z", "|v|", "cos θ", "p"}, rows);
    summary.push_back({std::to_string(pi + 1), p.label, top.empty() ? "" : tnames.front(), report::num(d.h_norm),
                       report::num(logit_diff), report::num(err.max_rel), report::num(rho_cos), report::num(rho_norm)});

    // A sample of distinct tokens (all of them when the vocabulary is smaller than the sample).
    std::vector<arma::uword> order(d.z.n_elem);
    std::iota(order.begin(), order.end(), arma::uword{0});
    ctx.rng.child(pi).shuffle(order.begin(), order.end());
    order.resize(std::min(order.size(), static_cast<std::size_t>(c.plot_sample)));
    std::vector<double> sx, sy;
    for (const auto i : order) {
      sx.push_back(d.cos(i));
      sy.push_back(d.z(i));
    }
    std::vector<report::Series> series;
    if (!sx.empty()) series.push_back({fmt::format("{} random tokens", sx.size()), sx, sy, "points"});
    series.push_back({fmt::format("top {}", top.size()), tc, tz, "points"});
    report::PlotSpec spec{fmt::format("z against cos θ — prompt {}", pi + 1), "cos θ", "logit z", false, false, series};
    ctx.plots->embed(md, ctx.plots->line_plot(fmt::format("z_vs_cos_{}", pi + 1), spec),
                     fmt::format("Logit z_i against cos θ_i for prompt {} (random tokens and the top-k)", pi + 1));
  }
  md.heading(2, "Summary");
  md.table({"#", "prompt", "top-1", "|h|", "max |z − logits|", "decomp. rel. error", "ρ(z, cos θ)", "ρ(z, |v|)"},
           summary);
  const double mean_rho = sum_rho_cos / static_cast<double>(L.prompts.size());
  ctx.h5->attr("/", "headline",
               fmt::format("{}; mean Spearman(z, cos θ) = {} over {} prompts; decomposition rel. error ≤ {}",
                           L.ckpt.tied ? "tied (max |W_out − E| = 0)"
                                       : fmt::format("untied (max |W_out − E| = {})", report::num(tie_diff)),
                           report::num(mean_rho), L.prompts.size(), report::num(max_rel)));
}

}  // namespace

std::unique_ptr<experiment::Experiment> make_weight_tying() {
  return std::make_unique<experiment::Declared<Config>>(
      "weight_tying", "GPT-2's tied output layer: logits z = E·h = |v||h| cos θ, and what angle and norm explain",
      experiment::Stage::none, declare, run, memory);
}

}  // namespace embedlab::experiments
