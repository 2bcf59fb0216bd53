#!/usr/bin/python3
"""Writes tests/data/stats_reference.json: independent reference values for lib/stats, lib/rsa
and lib/linalg/cluster computed with numpy/scipy (Debian packages; run with /usr/bin/python3).

    /usr/bin/python3 scripts/gen_stats_reference.py [out.json]

Cases: paired vectors with ties (Pearson, Spearman, Kendall tau-a by an O(n^2) count, tau-b from
scipy), moments (scipy skew/kurtosis, bias=True), RDMs from small matrices (scipy pdist),
average-linkage labels (scipy linkage + fcluster maxclust) and silhouettes (hand formula, as
sklearn.metrics.silhouette_samples), entropy/KL (scipy.stats.entropy) and softmax.
"""
import json
import sys

import numpy as np
from scipy import stats
from scipy.cluster.hierarchy import fcluster, linkage
from scipy.spatial.distance import pdist, squareform


def tau_a(x, y):
    n = len(x)
    s = 0
    for i in range(n):
        for j in range(i + 1, n):
            s += np.sign(x[i] - x[j]) * np.sign(y[i] - y[j])
    return float(s) / (n * (n - 1) / 2)


def silhouette(D, labels):
    """sklearn.metrics.silhouette_samples on a precomputed distance matrix, by hand."""
    m = len(labels)
    out = np.zeros(m)
    for i in range(m):
        own = labels == labels[i]
        if own.sum() == 1:
            continue
        a = D[i, own].sum() / (own.sum() - 1)
        b = min(D[i, labels == c].mean() for c in np.unique(labels) if c != labels[i])
        out[i] = (b - a) / max(a, b)
    return out


def canonical(labels):
    seen = {}
    return [seen.setdefault(int(l), len(seen)) for l in labels]


def main():
    rng = np.random.default_rng(20261126)
    out = {"generator": "scripts/gen_stats_reference.py", "scipy": __import__("scipy").__version__,
           "numpy": np.__version__}

    corr = []
    for n, levels in [(12, 4), (30, 6), (50, 1000), (200, 10)]:
        x = rng.integers(0, levels, n).astype(float)
        y = (x + rng.integers(0, levels, n)).astype(float)
        if levels == 1000:
            x = rng.normal(size=n)
            y = 0.5 * x + rng.normal(size=n)
        corr.append({
            "x": x.tolist(), "y": y.tolist(),
            "pearson": float(stats.pearsonr(x, y)[0]),
            "spearman": float(stats.spearmanr(x, y)[0]),
            "kendall_tau_b": float(stats.kendalltau(x, y, variant="b")[0]),
            "kendall_tau_a": tau_a(x, y),
            "cosine": float(x @ y / np.sqrt((x @ x) * (y @ y))),
            "ranks_x": stats.rankdata(x, method="average").tolist(),
        })
    out["correlation"] = corr

    mom = []
    for n in [5, 40, 300]:
        x = rng.standard_exponential(n)
        mom.append({"x": x.tolist(), "mean": float(x.mean()), "variance": float(x.var(ddof=1)),
                    "skewness": float(stats.skew(x, bias=True)),
                    "excess_kurtosis": float(stats.kurtosis(x, fisher=True, bias=True)),
                    "q10": float(np.quantile(x, 0.1)), "q50": float(np.quantile(x, 0.5)),
                    "q975": float(np.quantile(x, 0.975))})
    out["moments"] = mom

    rdms = []
    for d, m in [(5, 6), (16, 9)]:
        X = rng.normal(size=(m, d))  # rows = items (scipy's convention); C++ takes X.T (d x m)
        rdms.append({"items_rows": X.tolist(), **{
            metric: pdist(X, metric).tolist() for metric in ("cosine", "correlation", "euclidean")}})
    out["rdm"] = rdms

    clus = []
    for m, k, centers in [(12, 3, 3), (20, 4, 4), (15, 2, 3)]:
        C = rng.normal(size=(centers, 8)) * 2.0
        X = C[rng.integers(0, centers, m)] + rng.normal(size=(m, 8)) * 0.6
        X /= np.linalg.norm(X, axis=1, keepdims=True)
        S = X @ X.T
        D = np.clip(1.0 - S, 0.0, None)
        np.fill_diagonal(D, 0.0)
        Z = linkage(squareform(D, checks=False), method="average")
        heights = np.diff(Z[:, 2])
        assert np.all(np.abs(heights[heights != 0]) > 1e-9), "tied merge heights"
        lab = np.asarray(canonical(fcluster(Z, k, criterion="maxclust")))
        sil = silhouette(1.0 - S, lab)
        clus.append({"items_rows": X.tolist(), "similarity": S.tolist(), "k": k, "average_labels": lab.tolist(),
                     "silhouette_samples": sil.tolist(), "silhouette": float(sil.mean())})
    # A singleton cluster: its silhouette is 0.
    S = np.array([[1, .9, .8, .1], [.9, 1, .85, .2], [.8, .85, 1, .15], [.1, .2, .15, 1]])
    lab = np.array([0, 0, 0, 1])
    sil = silhouette(1.0 - S, lab)
    clus.append({"similarity": S.tolist(), "k": 2, "average_labels": lab.tolist(),
                 "silhouette_samples": sil.tolist(), "silhouette": float(sil.mean())})
    out["cluster"] = clus

    info = []
    for p, q in [([0.5, 0.5, 0.0], [0.25, 0.25, 0.5]), ([1, 2, 3, 4], [4, 3, 2, 1]),
                 (rng.dirichlet(np.ones(10)).tolist(), rng.dirichlet(np.ones(10)).tolist())]:
        info.append({"p": list(map(float, p)), "q": list(map(float, q)), "entropy_p": float(stats.entropy(p)),
                     "kl_pq": float(stats.entropy(p, q))})
    logits = np.array([1000.0, 999.0, -5.0, 0.0])
    sm = np.exp(logits - logits.max())
    sm /= sm.sum()
    out["information"] = {"cases": info, "logits": logits.tolist(), "softmax": sm.tolist()}

    path = sys.argv[1] if len(sys.argv) > 1 else "tests/data/stats_reference.json"
    with open(path, "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
