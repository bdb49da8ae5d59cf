// Package choose fits a range of segment counts (an algorithms.Sweep: the
// spec gave k as {min, max} or a list) over one load of the data and keeps
// the candidate a rule prefers. Each candidate is fitted by its own
// algorithm's Fit and scored by an evaluate.Program over the same
// partitions, one after the other, so the prepared rows are read once
// whatever the number of candidates; the Program's steps are theirs.
//
// # Rules
//
//   - silhouette (the default): the highest mean silhouette;
//   - calinski_harabasz: the highest Calinski-Harabasz index;
//   - davies_bouldin: the lowest Davies-Bouldin index;
//   - elbow: the knee of WCSS against k, by the kneedle method (Satopää
//     et al., 2011) offline: both axes scaled to [0, 1], the knee is the
//     k whose WCSS lies furthest below the chord from the first candidate
//     to the last. It needs three candidates at least.
//
// Ties go to the smaller k: fewer segments are easier to act on. A
// candidate whose metric is undefined (one segment has no silhouette or
// Davies-Bouldin index) is never chosen by that metric.
//
// # Checkpoints
//
// A checkpoint holds the candidates done (their models and reports) and,
// while a candidate is being fitted, its fit's own checkpoint, so a new
// leader resumes the fit mid-iteration. A candidate's evaluation is not
// checkpointed inside: its passes are few, and a resumed program scores
// that candidate again from its start, to the same bits.
package choose
