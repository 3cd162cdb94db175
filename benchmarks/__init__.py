"""Side-by-side benchmarks of stork against the tools a user would reach for instead
(``make bench`` runs them all: ``python -m benchmarks``)."""
