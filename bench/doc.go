// Package bench holds Cohort's benchmark suites: each runs a real embedded
// cluster (localcluster) and reports figures as JSON, so that
// bench/RESULTS.md quotes numbers a reader can reproduce with one command.
// cmd/cohort only parses their flags. It also writes the synthetic data
// files of `cohort gen blobs|customers|transactions` (generated in
// parallel chunks by bench/synth).
//
// # cohort bench kmeans
//
// KMeans runs one k-means job over synthetic blobs and times each Lloyd
// iteration as the driver finishes it (coordinator.Config.OnStep, whether
// or not the step's checkpoint was committed); --cpuprofile profiles the
// job from submission to its end. Its stages run one after another (the
// job, the memory read, the peer), so none shares the cores or the memory
// peak with another.
//
// A memory read is always measured: memory_read_bytes,
// memory_read_seconds (median of 5 passes), memory_read_gbps and
// iter_to_read_ratio (seconds_per_iter / memory_read_seconds). It sums,
// on every core, the Data of the very blocks the workers held
// (localcluster.HeldBlocks, taken while the job runs, because a job's end
// drops them), padding included: the bytes a Lloyd pass streams. The
// ratio says how far an iteration is from memory-bound; data smaller
// than the last-level cache measures the cache, not DRAM.
//
// With --compare sklearn, the same rows (partition order, real dims only)
// are written to a float32 .npy in a temporary directory, and an embedded
// script times scikit-learn's KMeans(algorithm="lloyd", tol=0, n_init=1)
// from k rows drawn with numpy's default_rng(seed), after a one-iteration
// warm-up fit, under Debian's /usr/bin/python3 (apt-get install
// python3-sklearn python3-numpy). The report gains compare: {peer,
// peer_version, peer_seconds_per_iter, peer_iterations, peer_inertia,
// peer_threads, ratio}, ratio being the peer's seconds per iteration over
// Cohort's. scikit-learn stops once labels stop changing, so
// peer_iterations can be below --iters; its inertia comes from another
// start and is not comparable with wcss. Tests that need scikit-learn
// skip without it.
//
// # cohort bench silhouette
//
// Silhouette runs a job that fits k-means to synthetic blobs and scores
// it (evaluate:), timing the evaluate stage as the job reports it, and,
// up to --peer-max-rows (100k: the peer is quadratic in time), times
// scikit-learn's silhouette_score on the same rows with the job's own
// labels: the blocks are generated again with the job's partition size
// and labelled by the job's decoded model, as its evaluation labelled
// them, and written as float32 and int32 .npy files. Runs alternate
// between the sides; medians are reported with each side's peak resident
// set (VmHWM reset before each Cohort run; ru_maxrss for the peer). An
// exact silhouette more than 1e-9 relative from the peer's is an error.
// --choose MIN..MAX fits every k on one load instead and reports the
// blocks the workers built against the partitions: equal, the data was
// read once.
//
// # cohort bench e2e
//
// E2E times whole jobs, as `cohort run` runs them, on a blobs file in CSV
// and in Parquet, against pandas and scikit-learn doing the same where
// Python has them (python3-sklearn, python3-pandas, python3-pyarrow). The
// runs alternate between the sides, formats and repeats, so a slow patch
// of a noisy machine lands on both; each side's stages and the rows it
// wrote are reported, and Cohort's assignments are read back and checked.
package bench
