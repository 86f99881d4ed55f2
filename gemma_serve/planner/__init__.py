"""Pure planning: config -> capacity (does it fit, which TP) -> launch. No Ray, no vLLM."""
