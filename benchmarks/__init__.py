"""The benchmark suite of this repository (`python -m benchmarks.run_all`).

A client of the servers it measures: it imports neither Ray nor
`gemma_serve.serve` (tests/bench/test_client_only.py checks it); what a
gemma-serve launch runs comes from `gemma-serve plan --json`.
"""
