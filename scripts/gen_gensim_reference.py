#!/usr/bin/python3
"""Reference values of gensim (Debian python3-gensim) for the word benchmarks and analogy search.

Writes tests/data/gensim_reference.json, read by tests/linalg/test_wordbench.cpp. Run from the
project root with the Debian interpreter (numpy/scipy/gensim are Debian packages):

    /usr/bin/python3 scripts/gen_gensim_reference.py [--data tests/data] [--out tests/data/gensim_reference.json]

Cases:
  glove        the GloVe 6B 50d subset (no header), as published
  glove_mixed  the same rows with a deterministic case mix, so that case folding and "first
               occurrence wins" are exercised: row j's token is capitalised when j % 5 == 1, and
               for every j % 10 == 3 a row with the upper-cased token and the
               vector v[j] + 0.2 * v[(j + 1) % n] (float32) is appended after all original rows
               (tests/linalg/test_wordbench.cpp builds the same).
  glove_r1500  the glove case with restrict_vocab=1500
"""
import argparse
import json
import os
import platform
import sys

import numpy as np
import scipy
import gensim
from gensim.models import KeyedVectors

GLOVE = "glove-6B-50d-subset/glove.6B.50d.subset3091.txt"
PAIRS = {"wordsim353": "peer-files/wordsim353.tsv", "simlex999": "peer-files/simlex999.txt"}
QUESTIONS = "peer-files/questions-words.txt"
EUCLID = "peer-files/euclidean_vectors.bin"


def mixed_case(kv):
    keys = [k.capitalize() if j % 5 == 1 else k for j, k in enumerate(kv.index_to_key)]
    extra = [j for j in range(len(keys)) if j % 10 == 3]
    out = KeyedVectors(kv.vector_size, dtype=np.float32)
    nxt = [(j + 1) % len(keys) for j in extra]
    vecs = np.concatenate([kv.vectors, kv.vectors[extra] + np.float32(0.2) * kv.vectors[nxt]]).astype(np.float32)
    out.add_vectors(keys + [kv.index_to_key[j].upper() for j in extra], vecs)
    return out


def pair_case(kv, path, restrict_vocab):
    pearson, spearman, oov_ratio = kv.evaluate_word_pairs(path, restrict_vocab=restrict_vocab)
    # The cosines gensim correlates: the same lookup as evaluate_word_pairs (upper-cased keys, first
    # occurrence among the first restrict_vocab rows), similarity() in float32.
    ok = {}
    for k in reversed(kv.index_to_key[:restrict_vocab]):
        ok[k.upper()] = kv.get_index(k)
    used = []
    with open(path, encoding="utf8") as fin:
        for line in fin:
            if not line or line.startswith("#"):
                continue
            a, b, sim = [w.upper() for w in line.split("\t")]
            if a not in ok or b not in ok:
                continue
            va, vb = kv.vectors[ok[a]], kv.vectors[ok[b]]
            cos = np.dot(gensim.matutils.unitvec(va), gensim.matutils.unitvec(vb))
            used.append([a, b, float(sim), float(cos)])
    return {
        "pearson": float(pearson[0]),
        "spearman": float(spearman.correlation),
        "oov_ratio": float(oov_ratio),
        "pairs": used,
    }


def analogy_case(kv, path, restrict_vocab):
    score, sections = kv.evaluate_word_analogies(path, restrict_vocab=restrict_vocab)
    return {
        "score": float(score),
        "sections": [
            {"name": s["section"], "correct": len(s["correct"]), "incorrect": len(s["incorrect"]),
             "correct_questions": [" ".join(q) for q in s["correct"]]}
            for s in sections
        ],
    }


def neighbours(result):
    return [[w, float(c)] for w, c in result]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="tests/data")
    ap.add_argument("--out", default="tests/data/gensim_reference.json")
    args = ap.parse_args()
    d = lambda rel: os.path.join(args.data, rel)

    glove = KeyedVectors.load_word2vec_format(d(GLOVE), binary=False, no_header=True)
    mixed = mixed_case(glove)
    cases = {}
    for name, kv, restrict in (("glove", glove, 300000), ("glove_mixed", mixed, 300000), ("glove_r1500", glove, 1500)):
        cases[name] = {
            "restrict_vocab": restrict,
            "pairs": {p: pair_case(kv, d(rel), restrict) for p, rel in PAIRS.items()},
            "analogies": analogy_case(kv, d(QUESTIONS), restrict),
        }

    queries = [
        (["king", "woman"], ["man"]),
        (["paris", "germany"], ["france"]),
        (["cat"], []),
        (["good", "dog", "queen"], ["bad", "cat"]),
    ]
    most_similar = []
    for pos, neg in queries:
        most_similar.append({
            "positive": pos, "negative": neg,
            "cosadd": neighbours(glove.most_similar(positive=pos, negative=neg, topn=10)),
            "cosmul": neighbours(glove.most_similar_cosmul(positive=pos, negative=neg, topn=10)),
        })
    doesnt_match = []
    for words in (["cereal", "dinner", "king", "queen"], ["paris", "berlin", "germany", "banana", "france"]):
        doesnt_match.append({"words": words, "answer": glove.doesnt_match(words)})

    euclid = KeyedVectors.load_word2vec_format(d(EUCLID), binary=True)
    euclid_ms = [{"positive": [w], "negative": [], "cosadd": neighbours(euclid.most_similar(w, topn=10))}
                 for w in ("the", "australia", "said", "police")]

    out = {
        "generator": "scripts/gen_gensim_reference.py",
        "versions": {"gensim": gensim.__version__, "numpy": np.__version__, "scipy": scipy.__version__,
                     "python": platform.python_version()},
        "files": {"glove": GLOVE, "questions": QUESTIONS, "euclidean": EUCLID, **PAIRS},
        "cases": cases,
        "glove_most_similar": most_similar,
        "glove_doesnt_match": doesnt_match,
        "euclidean_most_similar": euclid_ms,
    }
    with open(args.out, "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")
    print(f"wrote {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
