// softmax_sensitivity: p = softmax(z), z_i = |v_i|·|h|·cos θ_i (lesson point 6). How much of the
// next-token distribution do the angles carry, how much the norms, and how does |h| set its
// sharpness? For each probe vector h: (a) every |v_i| set to their mean (angles only), (b) the
// angles permuted at random (norms only), (c) |h| scaled — each compared with p by KL, top-1
// agreement, top-k overlap and entropy — plus the analytic sensitivities of log p_i.
#include "experiments/experiments.hpp"
#include "experiments/gpt2_prompts.hpp"
#include "report/report.hpp"
#include "stats/information.hpp"
#include "stats/logit_decomposition.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <numeric>

namespace embedlab::experiments {

namespace {

using experiment::Context;
using experiment::Schema;

struct Config : gpt2_prompts::Keys {
  std::string probe;
  std::int64_t random_count = 0;
  std::vector<std::int64_t> probe_tokens;
  std::int64_t permutations = 0;
  std::vector<double> scales;
  std::int64_t top_k = 0;
};

void declare(Schema<Config>& s) {
  gpt2_prompts::declare(s, "The cat sat on the, Once upon a time there was a, The capital of France is");
  s.key("probe.kind", &Config::probe, "hidden",
        "probe vectors h: hidden = final hidden state (after ln_f) at each prompt's last position; random = "
        "Gaussian directions scaled to the mean |h| of the prompts; token = token embedding columns of E")
      .one_of({"hidden", "random", "token"});
  s.key("probe.random_count", &Config::random_count, "3", "random probes (probe.kind = random)").range(1, 1000);
  s.key("probe.tokens", &Config::probe_tokens, "",
        "token ids whose embeddings are the probes (probe.kind = token); empty: each prompt's last token")
      .min(0);
  s.key("ablation.permutations", &Config::permutations, "5",
        "random permutations of the angles per probe (results averaged)")
      .range(1, 1000);
  s.key("scale.factors", &Config::scales, "0.25, 0.5, 0.75, 1, 1.25, 1.5, 2, 3, 4",
        "factors applied to |h| (1 reproduces p)")
      .range(0, 1e6)
      .non_empty();
  s.key("output.top_k", &Config::top_k, "10", "k of the top-k overlap and of the sensitivity table").range(1, 1000);
}

// Top tokens per probe whose analytic sensitivities are checked by finite differences.
constexpr std::size_t kChecked = 10;

struct Probe {
  std::string kind, label;
  arma::fvec h;
};

// The probes: hidden states of the prompts, random directions or token embeddings.
std::vector<Probe> make_probes(const Config& c, const gpt2_prompts::Loaded& L, Context& ctx) {
  const auto& m = *L.model;
  std::vector<Probe> hidden;
  double mean_norm = 0;
  for (const auto& p : L.prompts) {
    model::ForwardOptions fo;
    fo.logits = model::Logits::none;
    const auto fr = m.forward(p.ids, fo);
    hidden.push_back({"hidden", p.label, fr.final_hidden.col(fr.final_hidden.n_cols - 1)});
    mean_norm += arma::norm(arma::conv_to<arma::vec>::from(hidden.back().h)) / static_cast<double>(L.prompts.size());
  }
  if (c.probe == "hidden") return hidden;
  std::vector<Probe> out;
  if (c.probe == "random") {
    for (std::int64_t k = 0; k < c.random_count; ++k) {
      Rng r = ctx.rng.child(0x9A0B + static_cast<std::uint64_t>(k));
      arma::vec x(static_cast<arma::uword>(m.n_embd()));
      for (auto& v : x) v = r.normal();
      x *= mean_norm / arma::norm(x);
      out.push_back({"random",
                     fmt::format("random direction {} (|h| = mean prompt |h| = {})", k + 1, report::num(mean_norm)),
                     arma::conv_to<arma::fvec>::from(x)});
    }
    return out;
  }
  std::vector<std::int64_t> tokens = c.probe_tokens;
  if (tokens.empty())
    for (const auto& p : L.prompts) tokens.push_back(p.ids.back());
  for (const auto t : tokens) {
    if (t >= m.vocab_size())
      fail(Exit::config, "probe.tokens", std::to_string(t),
           fmt::format("token id out of range (got {}, expected < {})", t, m.vocab_size()));
    out.push_back({"token", fmt::format("embedding of {} (id {})", L.token(static_cast<int>(t)), t),
                   L.ckpt.wte().col(static_cast<arma::uword>(t))});
  }
  return out;
}

// The weights dominate; per probe z, |v|, cos θ, p and the altered distributions (vocabulary-sized).
void memory(const Config& c, const experiment::Shapes&, std::vector<experiment::Allocation>& out) {
  gpt2_prompts::model_memory(c, 12, out);
}

void run(const Config& c, Context& ctx) {
  const auto L = gpt2_prompts::load(c, ctx);
  const arma::fmat& W = L.ckpt.output();
  auto& md = *ctx.md;
  const auto probes = make_probes(c, L, ctx);
  const auto k = static_cast<std::size_t>(c.top_k);
  std::vector<double> scales = c.scales;

  md.heading(2, "What angles and norms each carry of p = softmax(|v||h| cos θ)");
  md.paragraph(fmt::format(
      "Probes: {} ({}). Alterations: (a) every |v_i| replaced by their mean (angles only); (b) the cos θ_i "
      "permuted at random over the vocabulary, {} permutations averaged (norms only); (c) |h| scaled. KL(p‖p') "
      "in nats; top-{} overlap counts shared tokens.",
      probes.size(), c.probe, c.permutations, k));
  std::vector<report::Series> entropy_series;
  std::vector<std::vector<std::string>> summary;
  double kl_mean_norm_sum = 0, kl_perm_sum = 0, fd_worst = 0;
  for (std::size_t pi = 0; pi < probes.size(); ++pi) {
    const auto& pr = probes[pi];
    const std::string g = fmt::format("/probes/{}", pi);
    const auto d = stats::decompose_logits(W, pr.h);
    const arma::vec p = stats::softmax(d.z);
    ctx.h5->write(g + "/z", d.z, {"logit", "z_i = v_i·h over the vocabulary"});
    ctx.h5->write(g + "/norms", d.norms, {"1", "|v_i| of every output vector"});
    ctx.h5->write(g + "/cos", d.cos, {"1", "cos θ_i between v_i and h"});
    ctx.h5->attr(g, "kind", pr.kind);
    ctx.h5->attr(g, "label", pr.label);
    ctx.h5->attr(g, "h_norm", d.h_norm);
    const double entropy_p = stats::entropy_logits(d.z);
    ctx.h5->attr(g, "entropy", entropy_p);

    // (a) angles only.
    const arma::vec norm_mean(d.norms.n_elem, arma::fill::value(arma::mean(d.norms)));
    const auto a = stats::compare_distributions(d.z, stats::logits_from_parts(norm_mean, d.cos, d.h_norm), k);
    ctx.h5->attr(g + "/mean_norm", "kl", a.kl);
    ctx.h5->attr(g + "/mean_norm", "top1_agree", static_cast<std::int64_t>(a.top1_agree));
    ctx.h5->attr(g + "/mean_norm", "top_overlap", static_cast<std::int64_t>(a.top_overlap));
    ctx.h5->attr(g + "/mean_norm", "entropy", a.entropy_q);

    // (b) norms only: each permutation its own stream.
    std::vector<double> pk, pt, po, pe;
    for (std::int64_t r = 0; r < c.permutations; ++r) {
      Rng rng = ctx.rng.child((pi << 20) + static_cast<std::uint64_t>(r));
      std::vector<arma::uword> perm(d.cos.n_elem);
      std::iota(perm.begin(), perm.end(), arma::uword{0});
      rng.shuffle(perm.begin(), perm.end());
      const arma::vec cos_perm = d.cos.elem(arma::uvec(perm));
      const auto b = stats::compare_distributions(d.z, stats::logits_from_parts(d.norms, cos_perm, d.h_norm), k);
      pk.push_back(b.kl);
      pt.push_back(b.top1_agree ? 1 : 0);
      po.push_back(static_cast<double>(b.top_overlap));
      pe.push_back(b.entropy_q);
    }
    const auto mean = [](const std::vector<double>& v) {
      return std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
    };
    ctx.h5->write(g + "/permuted/kl", pk, {"nats", "KL(p‖p') per random permutation of the angles"});
    ctx.h5->write(g + "/permuted/top1_agree", pt, {"1", "1 when the argmax is unchanged, per permutation"});
    ctx.h5->write(g + "/permuted/top_overlap", po, {"tokens", "shared top-k tokens, per permutation"});
    ctx.h5->write(g + "/permuted/entropy", pe, {"nats", "entropy of p' per permutation"});

    // (c) |h| scaled: z scales with it.
    std::vector<double> sk, st, so, se;
    for (const double s : scales) {
      const auto r = stats::compare_distributions(d.z, arma::vec(d.z * s), k);
      sk.push_back(r.kl);
      st.push_back(r.top1_agree ? 1 : 0);
      so.push_back(static_cast<double>(r.top_overlap));
      se.push_back(r.entropy_q);
    }
    ctx.h5->write(g + "/scale/factor", scales, {"1", "factor applied to |h|"});
    ctx.h5->write(g + "/scale/kl", sk, {"nats", "KL(p‖p') per scale factor"});
    ctx.h5->write(g + "/scale/top1_agree", st, {"1", "1 when the argmax is unchanged, per scale factor"});
    ctx.h5->write(g + "/scale/top_overlap", so, {"tokens", "shared top-k tokens, per scale factor"});
    ctx.h5->write(g + "/scale/entropy", se, {"nats", "entropy of p' per scale factor"});
    entropy_series.push_back({fmt::format("probe {}", pi + 1), scales, se, "linespoints"});

    // Sensitivities of log p_i for the top tokens; the top-1's checked by a central difference.
    const auto top = stats::top_k_indices(p, k);
    std::vector<std::int64_t> tid;
    std::vector<double> tp, dc, dn;
    std::vector<std::vector<std::string>> srows;
    for (const auto i : top) {
      const auto s = stats::log_prob_sensitivity(d, p, i);
      tid.push_back(static_cast<std::int64_t>(i));
      tp.push_back(p(i));
      dc.push_back(s.d_cos);
      dn.push_back(s.d_norm);
      srows.push_back({L.token(static_cast<int>(i)), std::to_string(i), report::num(p(i)), report::num(d.norms(i)),
                       report::num(d.cos(i)), report::num(s.d_cos), report::num(s.d_norm)});
    }
    // Both analytic derivatives checked by central differences of log softmax over the rebuilt
    // logits, for the first kChecked top tokens (each difference is two passes over V).
    const std::size_t checked = std::min(top.size(), kChecked);
    std::vector<double> fdc, fdn;
    double fd_err_cos = 0, fd_err_norm = 0;
    for (std::size_t j = 0; j < checked; ++j) {
      const arma::uword i = top[j];
      const auto central = [&](arma::vec parts, bool of_cos) {
        const double x = parts(i), step = 1e-6 * std::max(1.0, std::abs(x));
        parts(i) = x + step;
        const double up = stats::log_softmax(of_cos ? stats::logits_from_parts(d.norms, parts, d.h_norm)
                                                    : stats::logits_from_parts(parts, d.cos, d.h_norm))(i);
        parts(i) = x - step;
        const double down = stats::log_softmax(of_cos ? stats::logits_from_parts(d.norms, parts, d.h_norm)
                                                      : stats::logits_from_parts(parts, d.cos, d.h_norm))(i);
        return (up - down) / (2 * step);
      };
      fdc.push_back(central(d.cos, true));
      fdn.push_back(central(d.norms, false));
      // relative to the derivative's scale (an absolute floor of 1 keeps a derivative near 0 meaningful)
      fd_err_cos = std::max(fd_err_cos, std::abs(fdc.back() - dc[j]) / std::max(1.0, std::abs(dc[j])));
      fd_err_norm = std::max(fd_err_norm, std::abs(fdn.back() - dn[j]) / std::max(1.0, std::abs(dn[j])));
    }
    ctx.h5->write(g + "/sensitivity/ids", tid, {"token id", "top-k tokens of p"});
    ctx.h5->write(g + "/sensitivity/p", tp, {"probability", "p_i of the top-k tokens"});
    ctx.h5->write(g + "/sensitivity/d_logp_d_cos", dc, {"nats", "∂log p_i/∂cos θ_i = |v_i||h|(1 − p_i)"});
    ctx.h5->write(g + "/sensitivity/d_logp_d_norm", dn,
                  {"nats per unit norm", "∂log p_i/∂|v_i| = |h| cos θ_i (1 − p_i)"});
    ctx.h5->write(g + "/sensitivity/fd_d_logp_d_cos", fdc,
                  {"nats", "central finite difference of log p_i in cos θ_i, first top tokens"});
    ctx.h5->write(g + "/sensitivity/fd_d_logp_d_norm", fdn,
                  {"nats per unit norm", "central finite difference of log p_i in |v_i|, first top tokens"});
    ctx.h5->attr(g + "/sensitivity", "top1_finite_difference_d_cos", fdc.front());
    ctx.h5->attr(g + "/sensitivity", "top1_finite_difference_d_norm", fdn.front());
    ctx.h5->attr(g + "/sensitivity", "fd_max_rel_error_d_cos", fd_err_cos);
    ctx.h5->attr(g + "/sensitivity", "fd_max_rel_error_d_norm", fd_err_norm);
    fd_worst = std::max({fd_worst, fd_err_cos, fd_err_norm});

    md.heading(3, fmt::format("Probe {}: {}", pi + 1, pr.label));
    std::vector<std::vector<std::string>> rows;
    rows.push_back({"p (reference)", "0", "1", std::to_string(k), report::num(entropy_p)});
    rows.push_back({"(a) |v_i| → mean (angles only)", report::num(a.kl), a.top1_agree ? "1" : "0",
                    std::to_string(a.top_overlap), report::num(a.entropy_q)});
    rows.push_back({fmt::format("(b) angles permuted (norms only, mean of {})", c.permutations), report::num(mean(pk)),
                    report::num(mean(pt)), report::num(mean(po)), report::num(mean(pe))});
    for (std::size_t s = 0; s < scales.size(); ++s)
      rows.push_back({fmt::format("(c) |h| × {}", scales[s]), report::num(sk[s]), st[s] ? "1" : "0",
                      fmt::format("{:.0f}", so[s]), report::num(se[s])});
    md.paragraph(fmt::format("|h| = {}; entropy of p = {} nats.", report::num(d.h_norm), report::num(entropy_p)));
    md.table({"distribution", "KL(p‖p')", "top-1 agrees", fmt::format("top-{} overlap", k), "entropy"}, rows);
    md.paragraph(
        fmt::format("Sensitivities of log p_i for the top {} tokens. Checked by central differences for the first "
                    "{}: top-1 ∂log p/∂cos θ analytic {} against {}, ∂log p/∂|v| analytic {} against {}; largest "
                    "relative error {} (∂/∂cos θ) and {} (∂/∂|v|).",
                    top.size(), checked, report::num(dc.front()), report::num(fdc.front()), report::num(dn.front()),
                    report::num(fdn.front()), report::num(fd_err_cos), report::num(fd_err_norm)));
    md.table({"token", "id", "p", "|v|", "cos θ", "∂log p/∂cos θ", "∂log p/∂|v|"}, srows);
    summary.push_back(
        {std::to_string(pi + 1), pr.label, report::num(a.kl), report::num(mean(pk)), report::num(entropy_p)});
    kl_mean_norm_sum += a.kl;
    kl_perm_sum += mean(pk);
  }
  md.heading(2, "Summary");
  md.table({"probe", "label", "KL angles only", "KL norms only", "entropy of p"}, summary);
  md.paragraph(
      fmt::format("Largest relative error of the analytic ∂log p/∂cos θ and ∂log p/∂|v| against central "
                  "differences, over every probe: {}.",
                  report::num(fd_worst)));
  ctx.h5->attr("/", "fd_max_rel_error", fd_worst);
  ctx.plots->embed(
      md,
      ctx.plots->line_plot("entropy_vs_scale", {"Entropy of softmax(s·z) against the |h| scale s", "scale s",
                                                "entropy (nats)", false, false, entropy_series}),
      "Entropy of the next-token distribution against the factor applied to |h|");
  const double n = static_cast<double>(probes.size());
  ctx.h5->attr("/", "headline",
               fmt::format("{} {} probes: KL(p‖p') angles only (mean |v|) = {}, norms only (permuted angles) = {} nats",
                           probes.size(), c.probe, report::num(kl_mean_norm_sum / n), report::num(kl_perm_sum / n)));
}

}  // namespace

std::unique_ptr<experiment::Experiment> make_softmax_sensitivity() {
  return std::make_unique<experiment::Declared<Config>>(
      "softmax_sensitivity", "how next-token probabilities depend on angles, norms and |h| (p ∝ exp(|v||h| cos θ))",
      experiment::Stage::none, declare, run, memory);
}

}  // namespace embedlab::experiments
