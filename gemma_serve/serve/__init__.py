"""Ray Serve: the application factory, the model deployment, the local runtime."""

#: The Serve application gemma-serve deploys (locally and in the chart's serveConfigV2).
APP_NAME = "gemma-serve"
