"""Time scikit-learn's silhouette_score for `cohort bench silhouette` on a
float32 .npy of rows and an int32 .npy of their segments (Cohort's labels).
Prints one JSON line on stdout; on failure, a message on stderr and a
non-zero exit (3: an import failed, 4: bad input), which the Go side turns
into its error."""

import argparse
import json
import resource
import sys
import time


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--npy", required=True)
    p.add_argument("--labels", required=True)
    p.add_argument("--metric", default="euclidean")
    a = p.parse_args()

    try:
        import numpy as np
        import sklearn
        from sklearn.metrics import silhouette_score
    except ImportError as e:
        print(f"import failed: {e}", file=sys.stderr)
        sys.exit(3)

    try:
        x = np.load(a.npy)
        y = np.load(a.labels)
    except (OSError, ValueError) as e:
        print(f"cannot load {a.npy} or {a.labels}: {e}", file=sys.stderr)
        sys.exit(4)
    if x.ndim != 2 or y.ndim != 1 or x.shape[0] != y.shape[0]:
        print(f"want rows and one label a row, got {x.shape} and {y.shape}", file=sys.stderr)
        sys.exit(4)
    # Cohort measures the float32 rows in float64; so does the peer, or its
    # float32 distances would differ from both in the seventh digit.
    x = x.astype(np.float64)

    t = time.perf_counter()
    s = silhouette_score(x, y, metric=a.metric)
    seconds = time.perf_counter() - t

    print(json.dumps({
        "seconds": seconds,
        "silhouette": float(s),
        "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        "sklearn_version": sklearn.__version__,
    }))


if __name__ == "__main__":
    main()
