"""The peer of `cohort bench e2e`: the job Cohort runs, done as a pandas and
scikit-learn user would do it. Read a file, standard-scale its numbers (as
Cohort's default preparation does), fit k-means, and write every row's id,
segment and distance to its centre. Prints one JSON line on stdout with the
time of each stage; on failure, a message on stderr and a non-zero exit (3:
an import failed, 4: bad input), which the Go side turns into its error."""

import time

# Taken first, so the imports below count as a stage of their own: a user's
# script pays for them, and they are not small.
T0 = time.perf_counter()

import argparse
import json
import sys


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--data", required=True)
    p.add_argument("--format", choices=["csv", "parquet"], required=True)
    p.add_argument("--id", required=True)
    p.add_argument("--k", type=int, required=True)
    p.add_argument("--seed", type=int, required=True)
    p.add_argument("--out", required=True)
    a = p.parse_args()

    try:
        import numpy as np
        import pandas as pd
        import sklearn
        from sklearn.cluster import KMeans
        from sklearn.preprocessing import StandardScaler
        if a.format == "parquet":
            import pyarrow  # noqa: F401 (pandas' Parquet engine)
    except ImportError as e:
        print(f"import failed: {e}", file=sys.stderr)
        sys.exit(3)

    stages = []
    t = [T0]

    def stage(name):
        now = time.perf_counter()
        stages.append({"name": name, "seconds": now - t[0]})
        t[0] = now

    stage("import")

    try:
        if a.format == "csv":
            df = pd.read_csv(a.data)
        else:
            df = pd.read_parquet(a.data)
    except (OSError, ValueError) as e:
        print(f"cannot read {a.data}: {e}", file=sys.stderr)
        sys.exit(4)
    if a.id not in df.columns or len(df) < a.k:
        print(f"{a.data}: want an id column {a.id!r} and at least {a.k} rows, "
              f"got columns {list(df.columns)[:5]}… and {len(df)} rows", file=sys.stderr)
        sys.exit(4)
    stage("read")

    x = StandardScaler().fit_transform(df.drop(columns=[a.id]).to_numpy())
    stage("scale")

    # scikit-learn's defaults apart from n_init (whose default is changing)
    # and algorithm (named so that a later default cannot switch it):
    # k-means++ init, max_iter 300, tol 1e-4 relative to the data's variance.
    # random_state is reduced because sklearn accepts only 32-bit seeds.
    km = KMeans(n_clusters=a.k, n_init=1, algorithm="lloyd", random_state=a.seed % 2**32)
    km.fit(x)
    stage("fit")

    labels = km.labels_
    dist = np.sqrt(((x - km.cluster_centers_[labels]) ** 2).sum(axis=1))
    out = pd.DataFrame({"id": df[a.id].to_numpy(), "segment": labels, "distance": dist})
    if a.format == "csv":
        out.to_csv(a.out, index=False)
    else:
        out.to_parquet(a.out, index=False)
    stage("write")

    threads = None
    try:
        from threadpoolctl import threadpool_info
        for info in threadpool_info():
            if info.get("user_api") == "openmp":
                threads = info.get("num_threads")
                break
    except ImportError:
        pass
    versions = {"sklearn": sklearn.__version__, "pandas": pd.__version__, "numpy": np.__version__}
    if a.format == "parquet":
        versions["pyarrow"] = sys.modules["pyarrow"].__version__

    print(json.dumps({
        "stages": stages,
        "rows": int(len(out)),
        "n_iter": int(km.n_iter_),
        "inertia": float(km.inertia_),
        "max_iter": km.max_iter,
        "tol": km.tol,
        "init": km.init,
        "versions": versions,
        "threads": threads,
    }))


if __name__ == "__main__":
    main()
