"""Benchmarks and the loopback stub server they (and the tests) call."""
