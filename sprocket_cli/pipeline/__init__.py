"""Pipelines: the pipespec language, its plug-in registry, delivery functions and the original's names."""
