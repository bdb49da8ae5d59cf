"""Reference metrics from scikit-learn for evaluate's tests.

Run from algorithms/evaluate: /usr/bin/python3 testdata/sklearn_reference.py
It writes testdata/sklearn.json (and testdata/blobs.csv, synthetic). The
Mall Customers file is read from ../shared/data and not copied: only the
numbers scikit-learn computes from it are kept.
"""
import json
import os

import numpy as np
from sklearn.cluster import KMeans
from sklearn.datasets import make_blobs
from sklearn.metrics import (calinski_harabasz_score, davies_bouldin_score,
                             silhouette_samples, silhouette_score)

here = os.path.dirname(os.path.abspath(__file__))


def reference(x, k):
    km = KMeans(n_clusters=k, n_init=10, random_state=0).fit(x)
    labels = km.predict(x)
    s = silhouette_samples(x, labels)
    per = []
    for c in range(k):
        sc = s[labels == c]
        per.append({"size": int(len(sc)), "silhouette": float(sc.mean()), "negative_share": float((sc < 0).mean())})
    return {
        "centroids": km.cluster_centers_.tolist(),
        "labels": labels.tolist(),
        "silhouette": float(silhouette_score(x, labels)),
        "silhouette_manhattan": float(silhouette_score(x, labels, metric="manhattan")),
        "calinski_harabasz": float(calinski_harabasz_score(x, labels)),
        "davies_bouldin": float(davies_bouldin_score(x, labels)),
        "per_segment": per,
    }


out = {}
mall = os.path.join(here, "../../../../shared/data/mall_customers/Mall_Customers.csv")
x = np.loadtxt(mall, delimiter=",", skiprows=1, usecols=(3, 4))
out["mall"] = reference(x, 5)

x, _ = make_blobs(n_samples=3000, centers=6, n_features=4, cluster_std=1.5, random_state=1)
x = x.astype(np.float32).astype(np.float64)  # what a float32 block holds
np.savetxt(os.path.join(here, "blobs.csv"), x, delimiter=",", fmt="%.9g")
out["blobs"] = reference(x, 6)

with open(os.path.join(here, "sklearn.json"), "w") as f:
    json.dump(out, f, indent=1)
