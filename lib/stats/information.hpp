#pragma once
// Entropy, KL divergence and a numerically stable softmax, all in double with natural logs.
#include <armadillo>

namespace embedlab::stats {

// Shannon entropy -sum p log p (nats) of a probability vector. Like scipy.stats.entropy, `p` is
// normalised to sum 1 first; it must be finite, non-negative, with a positive sum (else
// Error(data)). 0 log 0 = 0.
double entropy(const arma::vec& p);

// KL(softmax(zp) || softmax(zq)) = sum p_i (log p_i - log q_i) (nats), computed from the
// log-probabilities (log_softmax, max shifted out) so that a probability that underflows to 0 in
// float or double never makes it infinite: log q_i stays finite for a finite logit. -Inf logits
// mean probability exactly 0: a term with zp_i = -Inf is 0, zq_i = -Inf where zp_i is finite gives
// +Inf (the true value). NaN/+Inf logits or a length mismatch throw (as logsumexp).
double kl_divergence_logits(const arma::vec& zp, const arma::vec& zq);
// Entropy of softmax(z), -sum p_i log p_i from the log-probabilities (-Inf logits contribute 0).
double entropy_logits(const arma::vec& z);

// log sum exp(x) with the max shifted out; -Inf entries are allowed (exp = 0), NaN/+Inf are not.
double logsumexp(const arma::vec& x);
arma::vec log_softmax(const arma::vec& x);  // x - logsumexp(x)
arma::vec softmax(const arma::vec& x);      // exp(log_softmax(x)), sums to 1
arma::vec softmax(const arma::fvec& x);     // float logits, computed in double

}  // namespace embedlab::stats
