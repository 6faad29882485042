"""BASELINE for the benchmarks (seed-style Flask + pymongo), not a Keyland component."""
