"""Time scikit-learn's Lloyd k-means on a float32 .npy file for `cohort bench
kmeans --compare sklearn`. Prints one JSON line on stdout; on failure, a
message on stderr and a non-zero exit (3: an import failed, 4: bad input),
which the Go side turns into its error."""

import argparse
import json
import sys
import time


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--npy", required=True)
    p.add_argument("--k", type=int, required=True)
    p.add_argument("--iters", type=int, required=True)
    p.add_argument("--seed", type=int, required=True)
    a = p.parse_args()

    try:
        import numpy as np
        import sklearn
        from sklearn.cluster import KMeans
    except ImportError as e:
        print(f"import failed: {e}", file=sys.stderr)
        sys.exit(3)

    try:
        x = np.load(a.npy)
    except (OSError, ValueError) as e:
        print(f"cannot load {a.npy}: {e}", file=sys.stderr)
        sys.exit(4)
    if x.ndim != 2 or x.dtype != np.float32 or x.shape[0] < a.k:
        print(f"{a.npy}: want a float32 matrix of at least {a.k} rows, "
              f"got {x.dtype} {x.shape}", file=sys.stderr)
        sys.exit(4)

    # Explicit rows as the initial centres: no k-means++ inside the timed
    # fit, and the same start on every run with the same seed.
    rng = np.random.default_rng(a.seed)
    init = x[rng.choice(x.shape[0], size=a.k, replace=False)]

    # Lloyd from explicit centres draws nothing at random; random_state is
    # set for form, reduced because sklearn accepts only 32-bit seeds and
    # Cohort's are 64-bit.
    def model(max_iter):
        return KMeans(n_clusters=a.k, init=init, n_init=1, max_iter=max_iter,
                      tol=0, algorithm="lloyd", random_state=a.seed % 2**32)

    # The first fit pays for lazy imports, Cython set-up and starting the
    # OpenMP pool; Cohort's timing excludes its own start-up too.
    model(1).fit(x)

    km = model(a.iters)
    t = time.perf_counter()
    km.fit(x)
    fit_seconds = time.perf_counter() - t

    threads = None
    try:
        from threadpoolctl import threadpool_info
        for info in threadpool_info():
            if info.get("user_api") == "openmp":
                threads = info.get("num_threads")
                break
    except ImportError:
        pass

    n_iter = int(km.n_iter_)
    print(json.dumps({
        "fit_seconds": fit_seconds,
        "n_iter": n_iter,
        "seconds_per_iter": fit_seconds / max(n_iter, 1),
        "inertia": float(km.inertia_),
        "sklearn_version": sklearn.__version__,
        "threads": threads,
    }))


if __name__ == "__main__":
    main()
