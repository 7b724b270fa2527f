"""asv benchmarks of the harness (see docs/benchmarks.md)."""
