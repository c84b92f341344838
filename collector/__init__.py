"""collector: GitHub ecosystem metrics, collected, backfilled and reported over time."""

__version__ = "0.1.0"
