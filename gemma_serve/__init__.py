"""gemma-serve: high-throughput serving of Google's Gemma 3 on Ray Serve + vLLM."""

__version__ = "0.1.0"
__all__ = ["__version__"]
