"""Measurements of Sentinelle's matcher on real photos: run as `python -m benchmarks.<name>`."""
