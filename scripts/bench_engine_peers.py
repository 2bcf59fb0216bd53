#!/usr/bin/python3
"""Peers for bench/bench_engine.cpp: the same problem in FAISS and NumPy.

A seeded standard-normal n×d float32 matrix (NumPy's own RNG, so not the same numbers as the C++
bench, only the same shape and distribution), rows normalised. Times:
  * FAISS IndexFlatIP exhaustive search, top-(k+1) of every row against all rows (self dropped);
  * blocked NumPy top-k (argpartition per block of rows);
  * blocked NumPy all-pairs histogram (upper triangle only, like the C++ pass).
Run with the Debian python (numpy, python3-faiss): /usr/bin/python3 scripts/bench_engine_peers.py
"""
import argparse
import time

import numpy as np


def make_matrix(n, d, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, d), dtype=np.float32)
    x /= np.linalg.norm(x.astype(np.float64), axis=1, keepdims=True).astype(np.float32)
    return np.ascontiguousarray(x)


def faiss_topk(x, k):
    try:
        import faiss
    except ImportError:
        return None
    index = faiss.IndexFlatIP(x.shape[1])
    index.add(x)
    t0 = time.perf_counter()
    _, ids = index.search(x, k + 1)
    s = time.perf_counter() - t0
    return s, ids


def numpy_topk(x, k, block):
    n = x.shape[0]
    t0 = time.perf_counter()
    ids = np.empty((n, k), dtype=np.int64)
    for a in range(0, n, block):
        c = x[a:a + block] @ x.T  # (block, n)
        rows = np.arange(c.shape[0])
        c[rows, a + rows] = -np.inf  # self
        part = np.argpartition(-c, k, axis=1)[:, :k]
        vals = np.take_along_axis(c, part, axis=1)
        order = np.lexsort((part, -vals), axis=1)
        ids[a:a + block] = np.take_along_axis(part, order, axis=1)
    return time.perf_counter() - t0, ids


def numpy_histogram(x, bins, block):
    n = x.shape[0]
    t0 = time.perf_counter()
    counts = np.zeros(bins, dtype=np.int64)
    total = 0.0
    for a in range(0, n, block):
        for b in range(a, n, block):
            c = x[a:a + block] @ x[b:b + block].T
            if a == b:
                c = c[np.triu_indices(c.shape[0], 1)]
            c = np.clip(c.ravel(), -1.0, 1.0)
            idx = np.minimum(((c + 1.0) * (bins / 2.0)).astype(np.int64), bins - 1)
            counts += np.bincount(idx, minlength=bins)
            total += float(c.sum(dtype=np.float64))
    return time.perf_counter() - t0, counts, total


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=50257)
    p.add_argument("--d", type=int, default=768)
    p.add_argument("--k", type=int, default=10)
    p.add_argument("--bins", type=int, default=2000)
    p.add_argument("--block", type=int, default=2048)
    p.add_argument("--seed", type=int, default=20261126)
    a = p.parse_args()
    x = make_matrix(a.n, a.d, a.seed)
    print(f"bench_engine_peers: n = {a.n}, d = {a.d}, k = {a.k}, numpy {np.__version__}\n")
    print("| peer | seconds | note |\n|---|---|---|")
    result = {}
    f = faiss_topk(x, a.k)
    if f is None:
        print("| FAISS IndexFlatIP top-k | n/a | python3-faiss not installed |")
    else:
        import faiss
        print(f"| FAISS IndexFlatIP top-{a.k} | {f[0]:.2f} | faiss {faiss.__version__}, k+1 with self |")
        result["faiss_topk"] = f[0]
    s, _ = numpy_topk(x, a.k, a.block)
    print(f"| NumPy blocked top-{a.k} | {s:.2f} | block {a.block} rows x all |")
    result["numpy_topk"] = s
    s, counts, total = numpy_histogram(x, a.bins, a.block)
    pairs = a.n * (a.n - 1) // 2
    assert counts.sum() == pairs
    print(f"| NumPy blocked histogram | {s:.2f} | upper-triangle tiles, mean cos {total / pairs:.6g} |")
    result["numpy_hist"] = s
    print("RESULT " + " ".join(f"{k}={v:.4f}" for k, v in result.items()))


if __name__ == "__main__":
    main()
