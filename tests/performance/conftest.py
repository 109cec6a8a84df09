"""The benchmark is a script, not a test: the normal run never collects it.

The smoke run is tests/integration/test_bench_smoke.py.
"""

collect_ignore = ["test_sqlite_vec_perf.py", "corpus.py"]
