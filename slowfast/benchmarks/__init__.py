"""Benchmarks behind tools/benchmark.py: one module per subcommand, each with main(argv)."""
