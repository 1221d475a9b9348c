"""Built-in stages, one module each, registered by entry point like any plug-in."""
