// The headline scalars of each experiment: what a sweep tabulates per grid point (sweep.h5
// /headlines/<name>, SUMMARY.md) and plots with --sweep-plot key:headline. One declarative table,
// read from each run's results.h5 (the source grammar is in experiment/sweep.hpp); a source an
// experiment did not write (a section turned off) reads as NaN and is noted in SUMMARY.md.
#include "experiments/experiments.hpp"

namespace embedlab::experiments {

const experiment::sweep::HeadlineTable& headlines() {
  // clang-format off
  static const experiment::sweep::HeadlineTable table = {
      {"random_variance", {
          {"gaussian_d_var", "mean(/sweep/gaussian/d_times_var)", "mean over d of d·Var(cos θ), Gaussian vectors (≈ 1)"},
          {"sphere_d_var", "mean(/sweep/sphere/d_times_var)", "mean over d of d·Var(cos θ), uniform on the sphere (≈ 1)"},
          {"rademacher_d_var", "mean(/sweep/rademacher/d_times_var)", "mean over d of d·Var(cos θ), ±1 vectors (≈ 1)"},
          {"gaussian_cells_outside_ci", "sum(/sweep/gaussian/outside_ci)", "Gaussian cells whose variance interval misses 1/d"},
          {"real_var", "/real@var", "Var(cos θ) of random pairs of the real space's rows (with [embeddings])"}}},
      {"word_benchmarks", {
          {"wordsim353_spearman", "/pairs/wordsim353@spearman", "Spearman ρ with WordSim-353"},
          {"simlex999_spearman", "/pairs/simlex999@spearman", "Spearman ρ with SimLex-999"},
          {"analogy_3cosadd", "/analogies/3cosadd@accuracy", "analogy accuracy, 3CosAdd"},
          {"analogy_3cosmul", "/analogies/3cosmul@accuracy", "analogy accuracy, 3CosMul"}}},
      {"weight_tying", {
          {"tie_max_abs_diff", "/tying@max_abs_diff", "max |W_out − E|"},
          {"spearman_z_cos", "/prompts/0@spearman_z_cos", "prompt 1: Spearman of z with cos θ"},
          {"spearman_z_norm", "/prompts/0@spearman_z_norm", "prompt 1: Spearman of z with |v|"},
          {"entropy", "/prompts/0@entropy", "prompt 1: entropy of the next-token distribution"}}},
      {"softmax_sensitivity", {
          {"entropy", "/probes/0@entropy", "probe 1: entropy of p"},
          {"kl_mean_norm", "/probes/0/mean_norm@kl", "probe 1: KL(p ‖ angles only)"},
          {"fd_max_rel_error", "/@fd_max_rel_error", "largest relative error of the analytic derivatives"}}},
      {"logit_lens", {
          {"first_top1_layer", "/prompts/0@first_stable_top1_layer", "prompt 1: first layer from which the final top-1 stays"}}},
      {"token_similarity", {
          {"expectations_passed", "/expectations@passed", "expectations that hold"},
          {"expectations_failed", "/expectations@failed", "expectations that fail"},
          {"silhouette_kmeans", "/clusters@silhouette_kmeans", "silhouette of the spherical k-means clusters"}}},
      {"vocab_geometry", {
          {"mean_cosine", "/anisotropy@mean_cosine", "mean cos θ over all pairs (anisotropy)"},
          {"isoscore", "/anisotropy@iso_score", "IsoScore of the rows"},
          {"hubness_skewness", "/diagnostics/hubness@skewness", "skewness of the k-occurrence N_k"},
          {"twonn", "/diagnostics/intrinsic_dimension@twonn", "TwoNN intrinsic dimension"},
          {"pca_components_90", "/pca@components_for_90pct", "principal components for 90% of the variance"}}},
      {"rsa", {
          {"statistic", "/compare/statistic[0]", "the first compare.methods statistic between the RDMs"},
          {"p_value", "/compare/p_value[0]", "its Mantel p-value"}}},
      {"compare", {
          {"linear_cka", "/metrics/linear_cka/value", "linear CKA"},
          {"linear_cka_debiased", "/metrics/linear_cka_debiased/value", "debiased linear CKA"},
          {"mutual_knn", "/metrics/mutual_knn/value", "mutual k-NN overlap"},
          {"procrustes_angular", "/metrics/procrustes_angular/value", "Procrustes angular distance"},
          {"svcca", "/metrics/svcca/value", "SVCCA"}}},
      {"position_embeddings", {
          {"offset1_mean_cos", "/offset/mean_cosine[1]", "mean cos(wpe_i, wpe_i+1)"},
          {"pca_top_share", "/spectrum/pca_shares[0]", "variance share of the first principal direction"}}},
      {"layer_geometry", {
          {"anisotropy_last", "/layers/anisotropy[-1]", "anisotropy at the last layer"},
          {"self_similarity_last", "/layers/self_similarity[-1]", "self-similarity at the last layer"},
          {"mev_last", "/layers/mev[-1]", "maximum explainable variance at the last layer"},
          {"isoscore_last", "/layers/isoscore[-1]", "IsoScore at the last layer"}}},
  };
  // clang-format on
  return table;
}

}  // namespace embedlab::experiments
