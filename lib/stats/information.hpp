#pragma once
// Entropy, KL divergence and a numerically stable softmax, all in double with natural logs.
#include <armadillo>

namespace embedlab::stats {

// Shannon entropy -sum p log p (nats) of a probability vector. Like scipy.stats.entropy, `p` is
// normalised to sum 1 first; it must be finite, non-negative, with a positive sum (else
// Error(data)). 0 log 0 = 0.
double entropy(const arma::vec& p);

// KL(p || q) = sum p log(p / q) (nats), both normalised first (as scipy.stats.entropy(p, q)).
// Terms with p_i = 0 are 0; p_i > 0 with q_i = 0 gives +Inf.
double kl_divergence(const arma::vec& p, const arma::vec& q);

// log sum exp(x) with the max shifted out; -Inf entries are allowed (exp = 0), NaN/+Inf are not.
double logsumexp(const arma::vec& x);
arma::vec log_softmax(const arma::vec& x);  // x - logsumexp(x)
arma::vec softmax(const arma::vec& x);      // exp(log_softmax(x)), sums to 1
arma::vec softmax(const arma::fvec& x);     // float logits, computed in double

}  // namespace embedlab::stats
