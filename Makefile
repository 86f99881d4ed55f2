# The two commands a newcomer needs; both do all set-up first and are idempotent.
.PHONY: serve test setup test-deps lint regen

serve: setup
	.venv/bin/gemma-serve serve

test: setup test-deps
	.venv/bin/ruff check gemma_serve tests benchmarks
	.venv/bin/mypy --cache-dir "$(HOME)/.cache/gemma-serve/mypy"
	.venv/bin/python -m pytest -q

setup:
	@scripts/bootstrap.sh

test-deps:
	@scripts/test-deps.sh

lint:
	.venv/bin/ruff check gemma_serve tests benchmarks
	.venv/bin/mypy --cache-dir "$(HOME)/.cache/gemma-serve/mypy"

# After changing the catalogue, config models, configs/, the dashboards/alerts or
# benchmarks/results/:
# regenerate what is derived (tests/test_generated.py fails while anything is stale).
regen:
	.venv/bin/python scripts/regen.py
