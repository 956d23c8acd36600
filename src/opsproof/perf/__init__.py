"""Performance work: tuning profiles and declared indexes, load runs, statistics, the
before/after comparison, its report and the regression gate."""
