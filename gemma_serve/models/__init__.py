"""Checkpoints: the embedded 270M and locally generated test models."""
