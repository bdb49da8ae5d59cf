// Package profile describes segments so that a person can act on them: each
// segment's size and share, every column's mean and median in the data's
// own units (not the scaled space the clustering ran in), its most common
// categories, and a short plain label ("recent, frequent, high value").
//
// Profiles are computed from the raw rows beside their segment labels, per
// partition, and merged: the same mergeable statistics (and quantile
// sketch) as data preparation, so a median is exact to the sketch's 0.5%
// however the rows were spread.
package profile
