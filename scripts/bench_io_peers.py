#!/usr/bin/python3
"""Peers for bench/bench_io.cpp on the files it generated in DIR: NumPy's np.load of wte.npy (best of
REPS, warm cache) and gensim's KeyedVectors.load_word2vec_format of words.txt (one run; it is slow).
Usage: bench_io_peers.py DIR [REPS]"""
import logging
import os
import sys
import time

import numpy as np

d = sys.argv[1]
reps = int(sys.argv[2]) if len(sys.argv) > 2 else 5
np.load(os.path.join(d, "wte.npy"))  # warm
best = 1e300
for _ in range(reps):
    t0 = time.perf_counter()
    np.load(os.path.join(d, "wte.npy"))
    best = min(best, time.perf_counter() - t0)
print(f"numpy {np.__version__} np.load wte.npy: {best:.4f} s")
line = f"RESULT np_load={best:.6f}"
try:
    import gensim
    from gensim.models import KeyedVectors
    logging.disable(logging.CRITICAL)
    t0 = time.perf_counter()
    KeyedVectors.load_word2vec_format(os.path.join(d, "words.txt"), binary=False)
    t = time.perf_counter() - t0
    print(f"gensim {gensim.__version__} load_word2vec_format words.txt: {t:.2f} s")
    line += f" gensim_text={t:.6f}"
except ImportError:
    print("gensim not installed (python3-gensim): text peer skipped")
print(line)
