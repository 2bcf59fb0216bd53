#!/usr/bin/python3
"""NumPy peer of bench/bench_compare.cpp: the same definitions at the same sizes, written the way a
NumPy user would (Gram matrices, no n×n): whole-vocabulary linear + debiased CKA and Procrustes on a
seeded normal n×d pair (float64 Grams, and float32 Grams as embedlab computes them), one permutation of linear CKA (float32 product, like embedlab's),
and 1000 permutations of the GloVe subset halves (linear CKA, debiased CKA, Procrustes, SVCCA).
Prints `RESULT key=value …` for scripts/bench.sh.

  /usr/bin/python3 scripts/bench_compare_numpy.py [n] [d] [glove file]
"""
import sys
import time
from pathlib import Path

import numpy as np


def prepare(X, Y, gram_dtype=np.float64):
    Xc, Yc = X - X.mean(0), Y - Y.mean(0)
    a, b = (Xc**2).sum(1), (Yc**2).sum(1)
    if gram_dtype == np.float64:
        Gx, Gy, C = Xc.T @ Xc, Yc.T @ Yc, Xc.T @ Yc
    else:  # embedlab's precision: centred in float64, Gram products in float32, then float64
        Xf, Yf = Xc.astype(gram_dtype), Yc.astype(gram_dtype)
        Gx, Gy, C = ((M.T @ N).astype(np.float64) for M, N in ((Xf, Xf), (Yf, Yf), (Xf, Yf)))
    return Xc, Yc, Gx, Gy, C, a, b


def hsic_u(tr, s1, s2, one, n):
    return (tr + s1 * s2 / ((n - 1) * (n - 2)) - 2.0 / (n - 2) * one) / (n * (n - 3))


def linear_family(X, Y, gram_dtype=np.float64):
    n = X.shape[0]
    Xc, Yc, Gx, Gy, C, a, b = prepare(X, Y, gram_dtype)
    gx, gy = np.linalg.norm(Gx), np.linalg.norm(Gy)
    cka = (C**2).sum() / (gx * gy)
    # K̃1 = −a, 1ᵀK̃1 = −Σa for centred data
    sK, sL = -a.sum(), -b.sum()
    hKL = hsic_u((C**2).sum() - a @ b, sK, sL, a @ b, n)
    hKK = hsic_u(gx**2 - a @ a, sK, sK, a @ a, n)
    hLL = hsic_u(gy**2 - b @ b, sL, sL, b @ b, n)
    nu = min(np.linalg.svd(C, compute_uv=False).sum() / np.sqrt(a.sum() * b.sum()), 1.0)
    return cka, hKL / np.sqrt(hKK * hLL), np.arccos(nu)


def svcca_basis(G, energy=0.99):
    lam, V = np.linalg.eigh(G)
    lam, V = np.clip(lam[::-1], 0, None), V[:, ::-1]
    k = int(np.searchsorted(np.cumsum(lam) / lam.sum(), energy) + 1)
    return V[:, :k] / np.sqrt(lam[:k])


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 50257
    d = int(sys.argv[2]) if len(sys.argv) > 2 else 768
    glove = Path(sys.argv[3] if len(sys.argv) > 3 else "tests/data/glove-6B-50d-subset/glove.6B.50d.subset3091.txt")
    rng = np.random.default_rng(20261201)
    X = rng.standard_normal((n, d))
    Y = 0.6 * X + 0.8 * rng.standard_normal((n, d))
    best = 1e300
    for _ in range(2):
        t = time.perf_counter()
        v = linear_family(X, Y)
        best = min(best, time.perf_counter() - t)
    print(f"NumPy whole vocabulary {n}x{d}: linear CKA {v[0]:.6f}, debiased {v[1]:.6f}, Procrustes {v[2]:.6f}: {best:.3f} s")
    best32 = 1e300
    for _ in range(2):
        t = time.perf_counter()
        v = linear_family(X, Y, np.float32)
        best32 = min(best32, time.perf_counter() - t)
    print(f"NumPy whole vocabulary, float32 Gram products: linear CKA {v[0]:.6f}, debiased {v[1]:.6f}, "
          f"Procrustes {v[2]:.6f}: {best32:.3f} s")
    Xf = (X - X.mean(0)).astype(np.float32)
    Yf = (Y - Y.mean(0)).astype(np.float32)
    perm = rng.permutation(n)
    t = time.perf_counter()
    C = Xf.T @ Yf[perm]
    _ = float((C.astype(np.float64) ** 2).sum())
    perm_s = time.perf_counter() - t
    print(f"NumPy one permutation of linear CKA: {perm_s:.3f} s")
    glove_s = -1.0
    if glove.exists():
        rows = [np.array(l.rstrip("\n").split(" ")[1:], dtype=np.float32) for l in open(glove, encoding="utf-8")]
        G = np.vstack(rows).astype(np.float64)
        h = G.shape[1] // 2
        GX, GY = G[:, :h], G[:, h:]
        t = time.perf_counter()
        Xc, Yc, Gx, Gy, C, a, b = prepare(GX, GY)
        Bx, By = svcca_basis(Gx), svcca_basis(Gy)
        Xf, Yf = Xc.astype(np.float32), Yc.astype(np.float32)
        gx, gy = np.linalg.norm(Gx), np.linalg.norm(Gy)
        m = GX.shape[0]
        sK, sL = -a.sum(), -b.sum()
        hKK = hsic_u(gx**2 - a @ a, sK, sK, a @ a, m)
        hLL = hsic_u(gy**2 - b @ b, sL, sL, b @ b, m)
        prng = np.random.default_rng(1)
        null = []
        for _ in range(1000):
            p = prng.permutation(m)
            Cp = (Xf.T @ Yf[p]).astype(np.float64)
            cc = (Cp**2).sum()
            ab = a @ b[p]
            null.append((cc / (gx * gy), hsic_u(cc - ab, sK, sL, ab, m) / np.sqrt(hKK * hLL),
                         np.arccos(min(np.linalg.svd(Cp, compute_uv=False).sum() / np.sqrt(a.sum() * b.sum()), 1)),
                         np.clip(np.linalg.svd(Bx.T @ Cp @ By, compute_uv=False), 0, 1).mean()))
        glove_s = time.perf_counter() - t
        print(f"NumPy GloVe subset halves: 1000 permutations of the linear family: {glove_s:.3f} s")
    print(f"RESULT np_whole={best:.4f} np_whole_f32={best32:.4f} np_perm={perm_s:.4f} np_glove_perms={glove_s:.4f}")


if __name__ == "__main__":
    main()
