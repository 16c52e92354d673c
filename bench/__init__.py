"""Voronka's benchmarks: what users wait for, warm and cold, in-process and over HTTP (see README.md)."""
