#!/usr/bin/python3
"""Float64 reference of the layer_geometry measures, written from the definitions (explicit pair
loops, numpy SVD), computed from an `embedlab hidden` dump of every layer.

    build/bin/embedlab hidden --model tests/data/gpt2-golden/tiny-gpt2 --tokenizer tests/data/gpt2-tokenizer \
        --corpus corpora/sample.txt --out /tmp/h.h5
    build/bin/run_experiment configs/layer_geometry.ini --set model.path=tests/data/gpt2-golden/tiny-gpt2 \
        --set model.tokenizer=tests/data/gpt2-tokenizer --set measures.pairs=4000 --results /tmp/r
    /usr/bin/python3 scripts/gen_layer_geometry_reference.py --hidden /tmp/h.h5 \
        --pairs-from /tmp/r/layer_geometry/latest/results.h5 --min-occurrences 5 \
        --model tests/data/gpt2-golden/tiny-gpt2 --tokenizer tests/data/gpt2-tokenizer --out tests/data/layer_geometry/tiny-gpt2-sample.reference.json

The anisotropy's pairs are the run's own (read from its /anisotropy_pairs: the sample is the C++
generator's); everything else depends only on the states. With --model, the layer-0 invariant is
checked from the checkpoint itself: layer 0 = wte[token] + wpe[position], so the anisotropy of layer
0 equals the mean cosine of those embedding rows for the drawn pairs.
"""
import argparse
import json
import struct

import h5py
import numpy as np


def cos(u, v):
    nu, nv = np.linalg.norm(u), np.linalg.norm(v)
    if nu == 0 or nv == 0:
        return 0.0
    return float(np.clip(np.dot(u, v) / (nu * nv), -1, 1))


def safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, t in header.items():
        if name == "__metadata__":
            continue
        assert t["dtype"] == "F32", t["dtype"]
        a, b = t["data_offsets"]
        out[name.removeprefix("transformer.")] = np.frombuffer(data[a:b], dtype="<f4").reshape(t["shape"])
    return out


def cka(X, Y):
    # rows = occurrences; centre = subtract column means
    Xc, Yc = X - X.mean(0), Y - Y.mean(0)
    num = np.linalg.norm(Yc.T @ Xc) ** 2
    den = np.linalg.norm(Xc.T @ Xc) * np.linalg.norm(Yc.T @ Yc)
    return float(num / den) if den > 0 else 0.0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--hidden", required=True)
    ap.add_argument("--pairs-from", required=True)
    ap.add_argument("--min-occurrences", type=int, default=5)
    ap.add_argument("--model")
    ap.add_argument("--tokenizer", help="tokenizer directory (vocab.json or encoder.json): words of several tokens, as the run")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    with h5py.File(a.hidden, "r") as f:
        H = f["/hidden"][()].astype(np.float64)  # [N, layers, C]
        tok, sen, pos = f["/token_ids"][()], f["/sentence"][()], f["/position"][()]
        layers = f["/layers"][()].tolist()
    with h5py.File(a.pairs_from, "r") as f:
        pairs = f["/anisotropy_pairs"][()]
    N, K, C = H.shape
    assert layers == list(range(K)), layers
    # words: a sentence's first token or a token whose bytes start with whitespace starts one; a word
    # of several tokens stands as its last token's state (tokens.multi_token = last, the default)
    starts_word = None
    if a.tokenizer:
        import os
        vj = a.tokenizer + "/vocab.json"
        with open(vj if os.path.exists(vj) else a.tokenizer + "/encoder.json", encoding="utf-8") as f:
            vocab = json.load(f)
        # GPT-2's bytes_to_unicode: bytes 0-32, 127-160 and 173 are mapped to 256+; ' ' (32) → 'Ġ', '\t' → 'ĉ', '\n' → 'Ċ'
        bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
        cs, k = bs[:], 0
        for b in range(256):
            if b not in bs:
                bs.append(b)
                cs.append(256 + k)
                k += 1
        byte_of = {chr(c): b for b, c in zip(bs, cs)}
        first_byte = {i: byte_of[t[0]] for t, i in vocab.items() if t}
        starts_word = lambda j: j == 0 or sen[j] != sen[j - 1] or first_byte.get(int(tok[j]), 0) in (9, 10, 11, 12, 13, 32)  # C isspace
    occurrences = []  # (word key, sentence, state row)
    j = 0
    while j < N:
        e = j + 1
        while starts_word and e < N and not starts_word(e):
            e += 1
        occurrences.append((tuple(int(t) for t in tok[j:e]), int(sen[j]), e - 1))
        j = e
    words = {}
    for key, s_, row in occurrences:
        words.setdefault(key, []).append((row, s_))
    groups = {w: [r for r, _ in o] for w, o in sorted(words.items())
              if len({s_ for _, s_ in o}) >= max(a.min_occurrences, 2)}
    sentences = sorted(set(sen.tolist()))
    ref = {"layers": layers, "words": [list(w) for w in groups], "anisotropy": [], "anisotropy_se": [], "self_similarity": [],
           "intra_sentence": [], "mev": [], "mean_norm": [], "next_layer_cosine": [], "isoscore": [],
           "path_length": [], "layer_similarity": []}
    for l in range(K):
        X = H[:, l, :]
        c = np.array([cos(X[i], X[j]) for i, j in pairs])
        ref["anisotropy"].append(float(c.mean()))
        ref["anisotropy_se"].append(float(c.std(ddof=1) / np.sqrt(len(c))))
        ss = []
        mev = []
        for w, occ in groups.items():
            vals = [cos(X[i], X[j]) for i in occ for j in occ if i != j and sen[i] != sen[j]]
            ss.append(np.mean(vals))
            s = np.linalg.svd(X[occ], compute_uv=False)
            mev.append(float(s[0] ** 2 / np.sum(s ** 2)))
        ref["self_similarity"].append(float(np.mean(ss)) if ss else None)
        ref["mev"].append(float(np.mean(mev)) if mev else None)
        intra = []
        for s in sentences:
            rows = X[sen == s]
            if len(rows) < 2:
                continue
            m = rows.mean(0)
            intra.append(np.mean([cos(r, m) for r in rows]))
        ref["intra_sentence"].append(float(np.mean(intra)))
        ref["mean_norm"].append(float(np.linalg.norm(X, axis=1).mean()))
        if l + 1 < K:
            Y = H[:, l + 1, :]
            ref["next_layer_cosine"].append(float(np.mean([cos(X[j], Y[j]) for j in range(N)])))
        # IsoScore (Rudman et al. 2022), from its definition
        if N >= C:
            Z = X - X.mean(0)
            _, _, Vt = np.linalg.svd(Z, full_matrices=False)
            var = np.var(Z @ Vt.T, axis=0, ddof=1)
            v = var * np.sqrt(C) / np.linalg.norm(var)
            delta = np.linalg.norm(v - 1) / np.sqrt(2 * (C - np.sqrt(C)))
            t = C - delta ** 2 * (C - np.sqrt(C))
            ref["isoscore"].append(float((t * t - C) / (C * (C - 1))))
        else:
            ref["isoscore"].append(None)
    ref["path_length"] = [float(x) for x in np.sum(np.linalg.norm(np.diff(H, axis=1), axis=2), axis=1)]
    ref["layer_similarity"] = [[cka(H[:, a_, :], H[:, b, :]) for b in range(K)] for a_ in range(K)]
    if a.model:
        w = safetensors(a.model + "/model.safetensors")
        E = w["wte.weight"][tok].astype(np.float64) + w["wpe.weight"][pos].astype(np.float64)
        ref["layer0_from_embeddings"] = float(np.mean([cos(E[i], E[j]) for i, j in pairs]))
        assert abs(ref["layer0_from_embeddings"] - ref["anisotropy"][0]) < 1e-6
    ref["tokens"] = int(N)
    ref["pairs"] = int(len(pairs))
    with open(a.out, "w") as f:
        json.dump(ref, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
