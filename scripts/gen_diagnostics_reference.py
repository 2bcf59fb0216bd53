#!/usr/bin/python3
"""Writes tests/data/diagnostics_reference.json: float64 NumPy reference values of the embedding-space
diagnostics of lib/linalg/diagnostics.hpp (hubness, CSLS, rogue dimensions, TwoNN, Mu & Viswanath's
isotropy, IsoScore), written from the definitions of issue 15 (no library's implementation used).

    /usr/bin/python3 scripts/gen_diagnostics_reference.py [out.json]

Input rows (as the project prepares them):
  * raw rows W: float32 as the readers store them (GloVe text: decimal -> double -> float32);
  * [normalize] bad_rows = exclude: rows that are zero or non-finite are dropped (the synthetic case
    has zero rows; its "kept" lists the surviving original rows);
  * unit rows U: the project's float32 unit rows, x * (1/||x||) with the norm summed in double in
    dimension order, rounded to float32. Everything below works in float64 on these float32 values.
Definitions (n kept rows, d dims):
  cos(i, j) = clamp(u_i . u_j, -1, 1); kNN(i) = the k rows j != i of highest cos, ties to the lower j.
  Identical unit rows (duplicates, or positive power-of-two multiples) get bit-identical cosines: the
  cosine matrix is computed on the distinct unit rows and expanded, so exact ties stay ties.
  hubness: N_k(x) = #{i : x in kNN(i)}; skewness = mean((N-k)^3) / mean((N-k)^2)^1.5 (mean of N is k);
    antihub_share = share N = 0; hub_share = share N > 2k; robin_hood = 0.5 sum|N-k| / sum N.
  CSLS: r(i) = mean of cos(i, j) over j in kNN(i); CSLS(i, j) = 2 cos(i, j) - r(i) - r(j); the CSLS
    neighbours rank j != i by CSLS (ties to the lower j); their hubness as above.
  rogue dimensions: contribution_j = ((sum_i u_ij)^2 - sum_i u_ij^2) / (n (n - 1)); mean cosine =
    their sum; the 3 largest (ties: lower j) with share = contribution / mean cosine. Standardised:
    z_ij = (w_ij - mean_j) / sd_j over the raw rows (population sd; sd = 0 gives 0), rows scaled to unit
    norm in float64 (a zero row stays zero), the same contributions.
  TwoNN: r1, r2 = ||u_i - u_a||, ||u_i - u_b|| for the first two kNN a, b; twonn = m / sum log(r2/r1)
    over the m rows with r1 > 0 (rows with r1 = 0, i.e. an identical unit row exists, are left out).
  mu_viswanath: eigenvectors c of W^T W (float64 raw rows); log Z(+-c) = logsumexp(+-W c) computed as
    max + log(sum(exp(x - max))); mu = exp(min log Z - max log Z) over both signs of every c.
  isoscore: variances v along the principal directions of the centred raw rows; v <- v sqrt(d)/|v|;
    delta = |v - 1| / sqrt(2 (d - sqrt d)); ((d - delta^2 (d - sqrt d))^2 - d) / (d (d - 1)).
"""
import hashlib
import json
import sys

import numpy as np

GLOVE = "tests/data/glove-6B-50d-subset/glove.6B.50d.subset3091.txt"


def read_glove(path):
    tokens, rows = [], []
    with open(path, encoding="utf-8") as f:
        for line in f:
            parts = line.rstrip("\n").split(" ")
            tokens.append(parts[0])
            rows.append([float(x) for x in parts[1:]])
    return tokens, np.array(rows, dtype=np.float64).astype(np.float32)


def prepare(W32):
    """Kept rows and the project's float32 unit rows (see the module docstring)."""
    W = W32.astype(np.float64)
    s = np.zeros(W.shape[0])
    for r in range(W.shape[1]):  # dimension order, as the C++ normalisation sums
        s += W[:, r] * W[:, r]
    norms = np.sqrt(s)
    kept = np.flatnonzero(np.isfinite(norms) & (norms > 0))
    U32 = (W[kept] * (1.0 / norms[kept])[:, None]).astype(np.float32)
    return kept, W32[kept], U32


def cosine_matrix(U32):
    """(n, n) float64 clamped cosines; identical unit rows share bit-identical rows and columns."""
    uniq, inverse = np.unique(U32, axis=0, return_inverse=True)
    inverse = inverse.reshape(-1)
    Uq = uniq.astype(np.float64)
    Cq = np.clip(Uq @ Uq.T, -1.0, 1.0)
    return Cq[inverse][:, inverse]


def knn(S, k):
    """Row i: the k columns j != i of highest S[i, j], ties to the lower j. (n, k) int64."""
    n = S.shape[0]
    ids = np.empty((n, k), dtype=np.int64)
    cols = np.arange(n)
    for i in range(n):
        row = S[i].copy()
        row[i] = -np.inf
        order = np.lexsort((cols, -row))  # primary: descending score; then ascending id
        ids[i] = order[:k]
    return ids


def hubness(ids, k):
    n = ids.shape[0]
    N = np.bincount(ids[:, :k].ravel(), minlength=n).astype(np.int64)
    x = N.astype(np.float64) - k
    m2 = np.mean(x ** 2)
    m3 = np.mean(x ** 3)
    return {
        "k": k,
        "counts": N.tolist(),
        "skewness": float(m3 / m2 ** 1.5) if m2 > 0 else None,
        "antihub_share": float(np.mean(N == 0)),
        "hub_share": float(np.mean(N > 2 * k)),
        "robin_hood": float(0.5 * np.abs(x).sum() / N.sum()),
    }


def rogue(U, top=3):
    n = U.shape[0]
    s = U.sum(axis=0)
    q = (U * U).sum(axis=0)
    contrib = (s * s - q) / (n * (n - 1.0))
    mean = float(contrib.sum())
    order = np.lexsort((np.arange(len(contrib)), -contrib))[:top]
    return {"contribution": contrib.tolist(), "mean_cosine": mean, "dims": order.tolist(),
            "share": (contrib[order] / mean).tolist()}


def standardized_rows(W):
    mu = W.mean(axis=0)
    sd = np.sqrt(((W - mu) ** 2).mean(axis=0))
    inv = np.where(sd > 0, 1.0 / np.where(sd > 0, sd, 1.0), 0.0)
    Z = (W - mu) * inv
    nz = np.sqrt((Z * Z).sum(axis=1))
    out = np.zeros_like(Z)
    ok = nz > 0
    out[ok] = Z[ok] / nz[ok, None]
    return out


def logsumexp(x):
    m = x.max()
    return m + np.log(np.exp(x - m).sum())


def mu_viswanath(W):
    G = W.T @ W
    vals, vecs = np.linalg.eigh(G)
    order = np.argsort(-vals, kind="stable")
    vals, vecs = vals[order], vecs[:, order]
    # the same sign convention as the C++ (largest |entry| positive) so log_z_plus lines up
    for i in range(vecs.shape[1]):
        j = np.argmax(np.abs(vecs[:, i]))
        if vecs[j, i] < 0:
            vecs[:, i] = -vecs[:, i]
    P = W @ vecs  # (n, d): c_i^T w for every row
    plus = np.array([logsumexp(P[:, i]) for i in range(P.shape[1])])
    minus = np.array([logsumexp(-P[:, i]) for i in range(P.shape[1])])
    lo = min(plus.min(), minus.min())
    hi = max(plus.max(), minus.max())
    return {"mu_viswanath": float(np.exp(lo - hi)), "eigenvalues": vals.tolist(), "log_z_plus": plus.tolist(),
            "log_z_minus": minus.tolist()}


def isoscore(W):
    n, d = W.shape
    if not (n >= d >= 2):
        return None
    X = W - W.mean(axis=0)
    v = np.sort(np.linalg.eigvalsh(X.T @ X / (n - 1)))[::-1]
    v = v * np.sqrt(d) / np.linalg.norm(v)
    delta = np.linalg.norm(v - 1.0) / np.sqrt(2.0 * (d - np.sqrt(d)))
    t = d - delta ** 2 * (d - np.sqrt(d))
    return float((t * t - d) / (d * (d - 1.0)))


def twonn(U, ids):
    a, b = ids[:, 0], ids[:, 1]
    r1 = np.sqrt(((U - U[a]) ** 2).sum(axis=1))
    r2 = np.sqrt(((U - U[b]) ** 2).sum(axis=1))
    used = r1 > 0
    total = np.log(r2[used] / r1[used]).sum()
    m = int(used.sum())
    return {"twonn": float(m / total) if m > 0 and total != 0 else None, "rows_used": m,
            "rows_r1_zero": int(len(r1) - m), "r1": r1.tolist(), "r2": r2.tolist()}


def case(name, W32, k, tokens=None, csls_words=(), full_lists=True):
    kept, Wk32, U32 = prepare(W32)
    U = U32.astype(np.float64)
    W = Wk32.astype(np.float64)
    n = U.shape[0]
    kk = min(k, n - 1)
    C = cosine_matrix(U32)
    ids = knn(C, max(kk, 2))
    cos_k = np.take_along_axis(C, ids[:, :kk], axis=1)
    r = np.zeros(n)
    for e in range(kk):  # sequential, in rank order
        r += cos_k[:, e]
    r /= kk
    S = 2.0 * C - r[:, None] - r[None, :]
    csls_ids = knn(S, kk)
    out = {
        "name": name,
        "rows_in": int(W32.shape[0]),
        "kept": kept.tolist(),
        "n": n,
        "d": int(U.shape[1]),
        "unit_sha256": hashlib.sha256(np.ascontiguousarray(U32).tobytes()).hexdigest(),
        "k": kk,
        "hubness": hubness(ids, kk),
        "csls_r": r.tolist(),
        "csls_hubness": hubness(csls_ids, kk),
        "rogue_dimensions": rogue(U),
        "rogue_dimensions_standardized": rogue(standardized_rows(W)),
        "intrinsic_dimension": twonn(U, ids),
        "isotropy": {**mu_viswanath(W), "isoscore": isoscore(W)},
        "neighbours_12": ids[:, :2].tolist(),
    }
    if tokens is None:
        out["matrix"] = W32.astype(np.float64).tolist()  # (rows_in, d), float32-exact
    if full_lists:
        out["knn_ids"] = ids[:, :kk].tolist()
        out["knn_cos"] = cos_k.tolist()
        out["csls_ids"] = csls_ids.tolist()
    if csls_words:
        index = {t: i for i, t in enumerate(tokens)}
        qs = {}
        for w in csls_words:
            i = index[w]
            row = S[i].copy()
            row[i] = -np.inf
            order = np.lexsort((np.arange(n), -row))[:10]
            qs[w] = {"ids": order.tolist(), "tokens": [tokens[j] for j in order], "csls": S[i, order].tolist(),
                     "cos": C[i, order].tolist(), "r": float(r[i])}
        out["csls_neighbours"] = qs
    return out


def synthetic():
    """70 x 6 float32-exact rows (multiples of 1/16) with duplicates, power-of-two multiples, zero rows
    and a few rows near the mean direction (hubs)."""
    rng = np.random.default_rng(20261201)
    W = np.round(rng.normal(size=(70, 6)) * 16) / 16
    W[:, 0] += 1.0  # a shared direction: anisotropy and a rogue dimension 0
    W[40] = W[3]
    W[41] = W[3]  # a triple of identical rows
    W[42] = W[10]
    W[43] = 2.0 * W[20]  # the same unit row as 20
    W[44] = 0.25 * W[7]
    W[45] = 0.0  # zero rows: dropped by bad_rows = exclude
    W[60] = 0.0
    W[50] = W.mean(axis=0) * 4  # near the mean direction: a hub
    W[51] = W[50] + 1.0 / 16
    return W.astype(np.float32)


def main():
    tokens, G = read_glove(GLOVE)
    out = {"generator": "scripts/gen_diagnostics_reference.py", "numpy": np.__version__,
           "notes": "float64 NumPy on the project's float32 unit rows; see the generator's docstring",
           "cases": [
               case("synthetic_k3", synthetic(), 3),
               case("synthetic_k10", synthetic(), 10),
               case("glove_subset_k10", G, 10, tokens, ("king", "dog", "france"), full_lists=False),
           ]}
    path = sys.argv[1] if len(sys.argv) > 1 else "tests/data/diagnostics_reference.json"
    with open(path, "w") as f:
        json.dump(out, f, indent=None, separators=(",", ":"))
        f.write("\n")


if __name__ == "__main__":
    main()
