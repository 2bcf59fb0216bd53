#!/usr/bin/python3
"""Float64 reference values of the space-comparison metrics (issue 15), written from the
definitions with NumPy/SciPy in the most direct form — the n×n kernel matrices, the full cosine
matrix, the SVD of the centred data — not the Gram-matrix shortcuts of lib/rsa/similarity_metrics.

  /usr/bin/python3 scripts/gen_compare_reference.py tests/data > tests/data/compare_reference.json

Cases (rows i of X and Y = the same word):
  glove_halves       GloVe 50d subset, dimensions 0..24 against 25..49, raw vectors
  glove_halves_unit  the same halves, each side's rows scaled to unit norm (compare.vectors = unit)
  glove_vs_euclidean GloVe subset against gensim's euclidean_vectors.bin over their shared words
                     (in the GloVe file's order), raw vectors
The vectors are read as float32 (as embedlab stores them) and widened to float64.
"""
import json
import sys
from pathlib import Path

import numpy as np
from scipy.spatial.distance import pdist, squareform
from scipy.stats import spearmanr

K = 10
ENERGY = 0.99


def read_glove(path):
    words, rows = [], []
    with open(path, encoding="utf-8") as f:
        for line in f:
            parts = line.rstrip("\n").split(" ")
            words.append(parts[0])
            rows.append(np.array(parts[1:], dtype=np.float32))
    return words, np.vstack(rows).astype(np.float64)


def read_word2vec_bin(path):
    from gensim.models import KeyedVectors

    kv = KeyedVectors.load_word2vec_format(str(path), binary=True)
    return list(kv.index_to_key), kv.vectors.astype(np.float32).astype(np.float64)


def centre(Z):
    return Z - Z.mean(axis=0)


def linear_cka(X, Y):
    Xc, Yc = centre(X), centre(Y)
    return np.linalg.norm(Yc.T @ Xc) ** 2 / (np.linalg.norm(Xc.T @ Xc) * np.linalg.norm(Yc.T @ Yc))


def hsic_u(K, L):
    n = K.shape[0]
    Kt, Lt = K.copy(), L.copy()
    np.fill_diagonal(Kt, 0.0)
    np.fill_diagonal(Lt, 0.0)
    one = np.ones(n)
    return (np.trace(Kt @ Lt) + (one @ Kt @ one) * (one @ Lt @ one) / ((n - 1) * (n - 2))
            - 2.0 / (n - 2) * (one @ Kt @ Lt @ one)) / (n * (n - 3))


def linear_cka_debiased(X, Y):
    Xc, Yc = centre(X), centre(Y)
    K, L = Xc @ Xc.T, Yc @ Yc.T
    return hsic_u(K, L) / np.sqrt(hsic_u(K, K) * hsic_u(L, L))


def rbf_kernel(X):
    d = pdist(X, "euclidean")
    sigma = np.median(d)
    return np.exp(-squareform(d) ** 2 / (2 * sigma**2)), sigma


def rbf_cka(X, Y):
    n = X.shape[0]
    H = np.eye(n) - np.ones((n, n)) / n
    K, sx = rbf_kernel(X)
    L, sy = rbf_kernel(Y)
    HKH, HLH = H @ K @ H, H @ L @ H
    return np.sum(HKH * HLH) / (np.linalg.norm(HKH) * np.linalg.norm(HLH)), sx, sy


def knn_sets(X, k):
    U = X / np.linalg.norm(X, axis=1, keepdims=True)
    S = np.clip(U @ U.T, -1.0, 1.0)
    n = S.shape[0]
    out = []
    for i in range(n):
        s = S[i].copy()
        s[i] = -np.inf  # i excluded
        order = np.argsort(-s, kind="stable")  # descending, equal cosines by the lower index
        out.append(order[:k])
    return out


def knn_metrics(X, Y, k):
    NX, NY = knn_sets(X, k), knn_sets(Y, k)
    mutual = np.mean([len(set(a) & set(b)) / k for a, b in zip(NX, NY)])
    jaccard = np.mean([len(set(a) & set(b)) / len(set(a) | set(b)) for a, b in zip(NX, NY)])
    return mutual, jaccard, NX, NY


def procrustes(X, Y):
    A = centre(X) / np.linalg.norm(centre(X))
    B = centre(Y) / np.linalg.norm(centre(Y))
    M = A.T @ B
    nu = min(np.linalg.svd(M, compute_uv=False).sum(), 1.0)
    out = {"nu": nu, "angular": float(np.arccos(nu)), "residual": 2 - 2 * nu}
    if X.shape[1] == Y.shape[1]:
        U, _, Vt = np.linalg.svd(M)
        Q = U @ Vt
        disp = np.linalg.norm(A @ Q - B, axis=1)
        out["displacement"] = disp
    return out


def svcca(X, Y, energy=ENERGY):
    def basis(Z):
        U, s, _ = np.linalg.svd(centre(Z), full_matrices=False)
        share = np.cumsum(s**2) / np.sum(s**2)
        kept = int(np.searchsorted(share, energy) + 1)  # fewest leading directions reaching energy
        return U[:, :kept], kept

    QX, kx = basis(X)
    QY, ky = basis(Y)
    rho = np.clip(np.linalg.svd(QX.T @ QY, compute_uv=False), 0.0, 1.0)
    return float(rho.mean()), kx, ky, rho


def rsa_spearman(X, Y):
    return spearmanr(pdist(X, "cosine"), pdist(Y, "cosine")).correlation


def case(name, words, X, Y):
    mutual, jaccard, NX, NY = knn_metrics(X, Y, K)
    rbf, sx, sy = rbf_cka(X, Y)
    pr = procrustes(X, Y)
    sv, kx, ky, rho = svcca(X, Y)
    metrics = {
        "linear_cka": linear_cka(X, Y),
        "linear_cka_debiased": linear_cka_debiased(X, Y),
        "rbf_cka": rbf,
        "mutual_knn": mutual,
        "jaccard_knn": jaccard,
        "procrustes_angular": pr["angular"],
        "procrustes_residual": pr["residual"],
        "svcca": sv,
        "rsa_spearman": rsa_spearman(X, Y),
    }
    out = {
        "rows": X.shape[0],
        "dims": [X.shape[1], Y.shape[1]],
        "k": K,
        "metrics": {k: float(v) for k, v in metrics.items()},
        "rbf_sigma": [float(sx), float(sy)],
        "svcca_kept": [kx, ky],
        "svcca_correlations": [float(r) for r in rho],
        "words_first": words[:5],
        # the first 50 rows' neighbour lists (row indices), for an exact check of the k-NN sets
        "knn_x_first50": [[int(j) for j in a] for a in NX[:50]],
        "knn_y_first50": [[int(j) for j in b] for b in NY[:50]],
    }
    if "displacement" in pr:
        d = pr["displacement"]
        top = np.argsort(-d, kind="stable")[:10]
        out["procrustes_most_moved"] = [{"row": int(i), "word": words[i], "displacement": float(d[i])} for i in top]
        out["procrustes_displacement_sum"] = float(d.sum())
    print(f"{name}: n={X.shape[0]} dims={X.shape[1]},{Y.shape[1]} " +
          " ".join(f"{k}={v:.6f}" for k, v in metrics.items()), file=sys.stderr)
    return out


def unit(Z):
    return Z / np.linalg.norm(Z, axis=1, keepdims=True)


def main():
    data = Path(sys.argv[1] if len(sys.argv) > 1 else "tests/data")
    gw, G = read_glove(data / "glove-6B-50d-subset/glove.6B.50d.subset3091.txt")
    h = G.shape[1] // 2
    ew, E = read_word2vec_bin(data / "peer-files/euclidean_vectors.bin")
    erow = {w: i for i, w in enumerate(ew)}
    shared = [i for i, w in enumerate(gw) if w in erow]
    out = {
        "generator": "scripts/gen_compare_reference.py (NumPy " + np.__version__ + ", float64)",
        "cases": {
            "glove_halves": case("glove_halves", gw, G[:, :h], G[:, h:]),
            "glove_halves_unit": case("glove_halves_unit", gw, unit(G[:, :h]), unit(G[:, h:])),
            "glove_vs_euclidean": case("glove_vs_euclidean", [gw[i] for i in shared], G[shared],
                                       E[[erow[gw[i]] for i in shared]]),
        },
    }
    json.dump(out, sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
