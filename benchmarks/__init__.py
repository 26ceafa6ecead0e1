"""Performance measurements: `make bench` writes benchmarks/RESULTS.md."""
