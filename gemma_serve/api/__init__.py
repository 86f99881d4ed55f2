"""The HTTP edge of a replica: vLLM's OpenAI app wrapped in gemma-serve's middlewares."""
