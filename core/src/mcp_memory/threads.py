"""The worker threads of numpy's BLAS in a ``memory`` process.

After each matrix product, OpenBLAS (the BLAS of numpy's wheels) keeps its worker threads busy-waiting on the
cores for 2^28 cycles, about a tenth of a second, in case another product follows. In a server the vector scan
of every search is such a product, so its idle workers held a core while the next search embedded its query and
ran its lexical half in SQLite: on 2 cores the lexical half started 3 ms late, and ``retrieve_memory`` over MCP
at 10,000 memories took 17.5 to 20.8 ms at the median instead of 14.5 to 16.6 ms (runs taking turns).
``OPENBLAS_THREAD_TIMEOUT=4`` lets them sleep after 2^4 cycles; the scan itself keeps its threads (at 100,000
memories two threads scan in 4.5 ms, one in 8 ms). OpenBLAS reads the variable when numpy is first imported.
"""

from __future__ import annotations

import os

BLAS_ENVIRONMENT = {"OPENBLAS_THREAD_TIMEOUT": "4"}


def calm_blas_threads() -> None:
    """Set the variables of ``BLAS_ENVIRONMENT`` that the user has not set (call before numpy is imported)."""
    for name, value in BLAS_ENVIRONMENT.items():
        os.environ.setdefault(name, value)
