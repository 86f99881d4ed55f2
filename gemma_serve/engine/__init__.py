"""vLLM engines: started from the planner's argv, errors translated in one place."""
