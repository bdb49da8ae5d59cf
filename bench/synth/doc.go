// Package synth generates realistic synthetic customer data for scale tests
// and demos: a customers table (mixed types, missing values, skewed money)
// and an Online Retail–like transaction log. Both come from a few latent
// personas, so segmentation has real structure to find, and both are
// deterministic for a seed and generated in chunks, so a file of any size
// streams out in bounded memory.
package synth
