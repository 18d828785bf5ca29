"""rtp benchmarks: `make bench` runs them all and records results in bench/results/."""
