#!/usr/bin/python3
"""The random_variance sweep in NumPy (the peer for `make bench`): same cells, same pair counts.
Usage: bench_random_variance_numpy.py [PAIRS]"""
import sys
import time

import numpy as np

pairs = int(sys.argv[1]) if len(sys.argv) > 1 else 20000
dims = [2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 768]
rng = np.random.default_rng(42)
chunk = 8192
work = 0.0
check = 0.0
t0 = time.perf_counter()
for dist in ("gaussian", "sphere", "rademacher"):
    for d in dims:
        cos = np.empty(pairs)
        for b in range(0, pairs, chunk):
            m = min(chunk, pairs - b)
            if dist == "rademacher":
                x = rng.integers(0, 2, (m, d), dtype=np.int8) * 2 - 1
                y = rng.integers(0, 2, (m, d), dtype=np.int8) * 2 - 1
                cos[b:b + m] = np.einsum("ij,ij->i", x, y, dtype=np.float64) / d
            else:
                x = rng.standard_normal((m, d))
                y = rng.standard_normal((m, d))
                if dist == "sphere":
                    x /= np.linalg.norm(x, axis=1, keepdims=True)
                    y /= np.linalg.norm(y, axis=1, keepdims=True)
                    cos[b:b + m] = np.einsum("ij,ij->i", x, y)
                else:
                    cos[b:b + m] = np.einsum("ij,ij->i", x, y) / np.sqrt(
                        np.einsum("ij,ij->i", x, x) * np.einsum("ij,ij->i", y, y))
        np.clip(cos, -1, 1, out=cos)
        check += cos.var(ddof=1) * d
        work += pairs * d
s = time.perf_counter() - t0
print(f"numpy random_variance: {pairs} pairs/cell: {s:.2f} s, {work / s:.3g} pair·dim/s (mean d·Var {check / 39:.3f})")
print(f"RESULT seconds={s:.4f} rate={work / s:.6g}")
