"""segdsl's benchmark suite: segdsl against hand-written Python and peer rule libraries.

Run it from the repository root with ``python -m benchmarks.run`` (``--quick`` for a fast
run); ``benchmarks/README.md`` describes the workloads, the targets and how to read the table.
"""
