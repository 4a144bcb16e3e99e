"""Chain paths: a model's values along permutation chains without building hybrid rows (issue 24)."""
