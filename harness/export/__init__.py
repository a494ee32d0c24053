"""A run's numbers in other tools' formats (`limitbench export-benchmark`)."""
