#!/usr/bin/python3
"""Times gensim's evaluate_word_analogies (3CosAdd, restrict_vocab 300000, case-insensitive) on a
word2vec binary file written by bench/bench_wordbench.cpp (--keep PATH), and prints one JSON line:
{"seconds", "load_seconds", "score", "sections": [{"name", "correct", "incorrect"}], "gensim"}.

    /usr/bin/python3 scripts/bench_wordbench_gensim.py VECTORS.bin questions-words.txt
"""
import json
import logging
import sys
import time

import gensim
from gensim.models import KeyedVectors


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    logging.disable(logging.CRITICAL)
    t0 = time.perf_counter()
    kv = KeyedVectors.load_word2vec_format(sys.argv[1], binary=True)
    kv.fill_norms()
    load = time.perf_counter() - t0
    t0 = time.perf_counter()
    score, sections = kv.evaluate_word_analogies(sys.argv[2], restrict_vocab=300000)
    seconds = time.perf_counter() - t0
    print(json.dumps({
        "seconds": seconds,
        "load_seconds": load,
        "score": score,
        "sections": [{"name": s["section"], "correct": len(s["correct"]), "incorrect": len(s["incorrect"])}
                     for s in sections],
        "gensim": gensim.__version__,
    }))


if __name__ == "__main__":
    main()
