"""Benchmarks of noshortcut against the peers that run here (`python bench/run.py`)."""
