"""Ray Serve: the application factory, the model deployment, the local runtime."""
