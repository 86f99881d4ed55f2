"""The `gemma-serve` command line."""
