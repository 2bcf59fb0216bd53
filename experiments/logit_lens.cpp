// logit_lens: read every layer's residual stream through the model's own unembedding,
// z_l = E·ln_f(h_l) (nostalgebraist 2020), to see at which depth the final next-token prediction
// emerges: the top-k tokens per layer and the rank of the final prediction at each layer.
#include "experiments/experiments.hpp"
#include "experiments/gpt2_prompts.hpp"
#include "report/report.hpp"
#include "stats/information.hpp"
#include "stats/logit_decomposition.hpp"

#include <fmt/format.h>

namespace embedlab::experiments {

namespace {

using experiment::Context;
using experiment::Schema;

struct Config : gpt2_prompts::Keys {
  std::int64_t top_k = 0;
};

void declare(Schema<Config>& s) {
  gpt2_prompts::declare(s, "The cat sat on the, Once upon a time there was a, The capital of France is");
  s.key("output.top_k", &Config::top_k, "5", "tokens listed per layer").range(1, 100);
}

// The weights dominate; one vocabulary-sized logit vector per layer and prompt at a time.
void memory(const Config& c, const experiment::Shapes&, std::vector<experiment::Allocation>& out) {
  gpt2_prompts::model_memory(c, 4, out);
}

void run(const Config& c, Context& ctx) {
  const auto L = gpt2_prompts::load(c, ctx);
  const auto& m = *L.model;
  auto& md = *ctx.md;
  const auto k = static_cast<std::size_t>(c.top_k);
  const auto n_states = static_cast<arma::uword>(m.n_layer() + 1);
  md.heading(2, "The logit lens: z_l = E·ln_f(h_l) at the last position");
  md.paragraph(
      fmt::format("Layer 0 is the token + position embedding, layer l the residual stream after block l "
                  "({} blocks); the last layer's lens is the model's own output. The final prediction is the "
                  "argmax of the model's logits; its rank at a layer is 1 + the number of tokens with a "
                  "larger lens logit.",
                  m.n_layer()));
  std::vector<report::Series> rank_series;
  std::vector<std::vector<std::string>> summary;
  std::int64_t first_layer_sum = 0;
  for (std::size_t pi = 0; pi < L.prompts.size(); ++pi) {
    const auto& p = L.prompts[pi];
    const std::string g = fmt::format("/prompts/{}", pi);
    model::ForwardOptions fo;
    fo.logits = model::Logits::last;
    fo.keep_hidden = true;
    const auto fr = m.forward(p.ids, fo);
    const arma::uword last = fr.final_hidden.n_cols - 1;
    const auto final_token = model::argmax_lowest(fr.logits.colptr(0), fr.logits.n_rows);
    // top is (layers, k) token ids, top_logit the same shape.
    arma::Mat<std::int64_t> top(n_states, k);
    arma::mat top_logit(n_states, k);
    arma::fmat hidden(n_states, static_cast<arma::uword>(m.n_embd()));  // (layers, C), pre-ln_f, float32
    std::vector<double> layer, rank, prob;
    std::vector<std::vector<std::string>> rows;
    std::int64_t first_top1 = -1;
    for (arma::uword l = 0; l < n_states; ++l) {
      const arma::fmat h = fr.hidden[l].col(last);
      hidden.row(l) = h.t();
      const arma::vec z = arma::conv_to<arma::vec>::from(m.logit_lens(h).col(0));
      const auto t = stats::top_k_indices(z, k);
      const arma::vec pz = stats::softmax(z);
      std::string names;
      for (std::size_t j = 0; j < t.size(); ++j) {
        top(l, j) = static_cast<std::int64_t>(t[j]);
        top_logit(l, j) = z(t[j]);
        names += (j ? ", " : "") + L.token(static_cast<int>(t[j]));
      }
      const auto r = stats::rank_of(z, final_token);
      layer.push_back(static_cast<double>(l));
      rank.push_back(static_cast<double>(r));
      prob.push_back(pz(final_token));
      if (r == 1 && first_top1 < 0) first_top1 = static_cast<std::int64_t>(l);
      if (r != 1) first_top1 = -1;  // the first layer from which the prediction stays top-1
      rows.push_back({std::to_string(l), names, std::to_string(r), report::num(pz(final_token))});
    }
    ctx.h5->write(g + "/input_ids", std::vector<std::int64_t>(p.ids.begin(), p.ids.end()),
                  {"token id", "the prompt's token ids"});
    ctx.h5->write(g + "/top_ids", top, {"token id", "top-k tokens of the lens at each layer (layers × k), descending"});
    ctx.h5->write(g + "/top_logits", top_logit, {"logit", "lens logits of the top-k tokens (layers × k)"});
    ctx.h5->write(g + "/hidden", hidden,
                  {"activation",
                   "residual stream h_l at the last position before ln_f (layers × n_embd); layer l "
                   "is the final hidden state of the model cut after block l"});
    ctx.h5->write(g + "/final_rank", rank, {"rank", "rank of the final prediction in each layer's lens (1 = top)"});
    ctx.h5->write(g + "/final_prob", prob, {"probability", "softmax probability of the final prediction per layer"});
    ctx.h5->attr(g, "prompt", p.label);
    ctx.h5->attr(g, "final_token", static_cast<std::int64_t>(final_token));
    ctx.h5->attr(g, "first_stable_top1_layer", first_top1);
    first_layer_sum += first_top1;
    rank_series.push_back({fmt::format("prompt {}", pi + 1), layer, rank, "linespoints"});
    md.heading(3, fmt::format("Prompt {}: {}", pi + 1, p.label));
    md.paragraph(fmt::format("Final prediction {} (id {}), top-1 from layer {} on.",
                             report::literal(L.token(static_cast<int>(final_token))), final_token, first_top1));
    md.table({"layer", fmt::format("top-{} tokens", k), "rank of final", "p(final)"}, rows);
    summary.push_back({std::to_string(pi + 1), p.label, L.token(static_cast<int>(final_token)),
                       std::to_string(first_top1), fmt::format("{:.0f}", rank.front())});
  }
  md.heading(2, "Summary");
  md.table({"#", "prompt", "final prediction", "top-1 from layer", "rank at layer 0"}, summary);
  report::PlotSpec spec{
      "Rank of the final prediction in the logit lens", "layer", "rank (1 = top)", false, true, rank_series};
  spec.integer_x = true;
  ctx.plots->embed(md, ctx.plots->line_plot("rank_vs_layer", spec),
                   "Rank of the final next-token prediction at each layer (log scale)");
  ctx.h5->attr("/", "headline",
               fmt::format("{} prompts, {} layers: the final prediction becomes top-1 at layer {} on average",
                           L.prompts.size(), m.n_layer(),
                           report::num(static_cast<double>(first_layer_sum) / static_cast<double>(L.prompts.size()))));
}

}  // namespace

std::unique_ptr<experiment::Experiment> make_logit_lens() {
  return std::make_unique<experiment::Declared<Config>>(
      "logit_lens", "the logit lens: top tokens of E·ln_f(h_l) at every layer and the rank of the final prediction",
      experiment::Stage::none, declare, run, memory);
}

}  // namespace embedlab::experiments
