"""The GitHub simulator: a faithful stand-in for the GitHub API, for tests, demos and benchmarks."""
