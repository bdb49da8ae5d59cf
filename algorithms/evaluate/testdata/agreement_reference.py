"""Reference agreement measures for agreement_test.go.

Run from algorithms/evaluate: /usr/bin/python3 testdata/agreement_reference.py
It writes testdata/agreement.json: pairs of labelings (-1 is noise) and,
over the rows both put in a segment, scikit-learn's adjusted Rand index,
and clusterboot's Jaccard recovery and Tibshirani and Walther's prediction
strength computed here from their definitions, by sets of rows and by
counting pairs one by one, not from a contingency table as the Go code
does.
"""
import itertools
import json
import os

import numpy as np
from sklearn.metrics import adjusted_rand_score

here = os.path.dirname(os.path.abspath(__file__))
rng = np.random.default_rng(14)


def jaccard(a, b, ka, kb):
    out = []
    for i in range(ka):
        A = set(np.flatnonzero(a == i))
        if not A:
            out.append(None)
            continue
        best, match = -1.0, -1
        for j in range(kb):
            B = set(np.flatnonzero(b == j))
            s = len(A & B) / len(A | B)
            if s > best:
                best, match = s, j
        out.append({"value": best, "match": match})
    return out


def strength(a, b, ka):
    per = []
    for i in range(ka):
        rows = np.flatnonzero(a == i)
        if len(rows) < 2:
            per.append(None)
            continue
        pairs = together = 0
        for x, y in itertools.combinations(rows, 2):
            pairs += 1
            together += b[x] == b[y]
        per.append(together / pairs)
    present = [v for v in per if v is not None]
    return per, (min(present) if present else None)


def case(name, a, b, ka, kb, brute=True):
    a, b = np.asarray(a), np.asarray(b)
    both = (a >= 0) & (b >= 0)
    fa, fb = a[both], b[both]
    c = {"name": name, "ka": ka, "kb": kb, "a": a.tolist(), "b": b.tolist(),
         "ari": float(adjusted_rand_score(fa, fb)) if both.any() else None}
    if brute:
        c["jaccard"] = jaccard(fa, fb, ka, kb)
        c["segment_strength"], c["strength"] = strength(fa, fb, ka)
    return c


cases = []
a = rng.integers(0, 5, 600)
cases.append(case("random", a, rng.integers(0, 4, 600), 5, 4))
b = np.where(rng.random(600) < 0.9, a, rng.integers(0, 5, 600))
cases.append(case("ninety percent kept", a, b, 5, 5))
perm = np.array([3, 0, 4, 1, 2])
cases.append(case("relabelled", a, perm[a], 5, 5))
cases.append(case("identical", a, a, 5, 5))
cases.append(case("one segment against five", np.zeros(300, int), rng.integers(0, 5, 300), 1, 5))
cases.append(case("one segment each", np.zeros(50, int), np.zeros(50, int), 1, 1))
cases.append(case("one row", [2], [0], 3, 2))
s = rng.integers(0, 3, 400)
s[7], s[99] = 3, 4  # two segments of one row; segment 5 is empty
cases.append(case("singletons and an empty segment", s, rng.integers(0, 4, 400), 6, 4))
n = np.where(rng.random(500) < 0.1, -1, rng.integers(0, 4, 500))
m = np.where(rng.random(500) < 0.1, -1, np.where(rng.random(500) < 0.7, n, rng.integers(0, 3, 500)))
m[n == -1] = np.where(rng.random((n == -1).sum()) < 0.5, -1, 1)
cases.append(case("noise on both sides", n, m, 4, 4))
cases.append(case("all noise", [-1, -1, 0], [0, -1, -1], 2, 2))
big = rng.integers(0, 12, 60000)
cases.append(case("large, nearly independent", big, np.where(rng.random(60000) < 0.02, big, rng.integers(0, 10, 60000)), 12, 12, brute=False))

with open(os.path.join(here, "agreement.json"), "w") as f:
    json.dump(cases, f, separators=(",", ":"))
