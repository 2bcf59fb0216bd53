#pragma once
// The softmax link between embedding geometry and next-token probabilities (lesson point 6):
// with an output matrix whose columns are v_i, the logits of a hidden state h are z_i = v_i·h =
// |v_i|·|h|·cos θ_i. These functions split z into norms and angles, rebuild it from (possibly
// altered) parts, compare the resulting distributions and give the analytic sensitivities of
// log p_i. Everything accumulates in double; cosines are clamped to [-1, 1].
#include <armadillo>

#include <cstddef>
#include <vector>

namespace embedlab::stats {

struct LogitDecomposition {
  arma::vec z;      // V, v_i·h (dot products accumulated in double)
  arma::vec norms;  // V, |v_i|
  arma::vec cos;    // V, cos θ_i = v̂_i·ĥ from the normalised vectors (normalise first, then dot)
  double h_norm = 0;
};

// W is C×V (column i = v_i), h has C entries. Zero columns get cos 0; a zero or non-finite h, or
// non-finite W, throws Error(data); a size mismatch Error(usage).
LogitDecomposition decompose_logits(const arma::fmat& W, const arma::fvec& h);

// z_i = norms_i · h_norm · cos_i.
arma::vec logits_from_parts(const arma::vec& norms, const arma::vec& cos, double h_norm);

// How well z is reproduced by |v_i|·|h|·cos θ_i: the largest absolute error and that error over
// max_i |z_i| (relative to the scale of the logits, so logits near 0 do not blow it up).
struct ReconstructionError {
  double max_abs = 0, max_rel = 0;
};
ReconstructionError reconstruction_error(const LogitDecomposition& d);

// Indices of the k largest entries in descending order, ties → lowest index (k clamped to size).
std::vector<arma::uword> top_k_indices(const arma::vec& x, std::size_t k);
// 1 + the number of entries strictly larger than x[i] (rank 1 = the argmax).
std::size_t rank_of(const arma::vec& x, arma::uword i);

// p = softmax(zp) (reference) against q = softmax(zq) (altered) over the same support, from the
// logits: KL and entropies from log-probabilities (finite when a probability underflows), top-k by
// logit (the order of the probabilities, without ties made by underflow).
struct DistributionShift {
  double kl = 0;                        // KL(p‖q), nats
  bool top1_agree = false;              // same argmax (ties → lowest index)
  std::size_t top_overlap = 0;          // |top-k(p) ∩ top-k(q)|
  double entropy_p = 0, entropy_q = 0;  // nats
};
DistributionShift compare_distributions(const arma::vec& zp, const arma::vec& zq, std::size_t k);

// For p = softmax(z) with z_i = |v_i||h| cos θ_i (p_i depends on its own z_i through z_i and the
// normaliser): ∂log p_i/∂cos θ_i = |v_i||h|(1 − p_i) and ∂log p_i/∂|v_i| = |h| cos θ_i (1 − p_i).
struct LogProbSensitivity {
  double d_cos = 0, d_norm = 0;
};
LogProbSensitivity log_prob_sensitivity(const LogitDecomposition& d, const arma::vec& p, arma::uword i);

}  // namespace embedlab::stats
