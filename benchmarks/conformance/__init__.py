"""OpenAI-API conformance: vLLM's own server tests, re-implemented, against any endpoint.

Each check in `test_*.py` is our own pytest re-implementation of one test case of
vLLM's OpenAI-server test suite (`tests/entrypoints/openai/...` in vllm-project/vllm);
its docstring names the vLLM test it mirrors (file::function) and says where the
check departs from it (vLLM's tests assert answers of particular HF models; these
assert the API's shape and behaviour, which any model must honour). Cases that need
something neither server here has are recorded as not applicable, with the reason
(`test_not_applicable.py`).

The checks take the server from pytest options or the environment:

    .venv/bin/python -m pytest benchmarks/conformance --base-url http://127.0.0.1:8000 \
        --model gemma-3-270m

`python -m benchmarks.conformance` starts gemma-serve and bare vLLM (same vLLM argv
and engine env) one at a time, runs every check against each and writes
benchmarks/results/conformance/results.json and table.md.
"""
