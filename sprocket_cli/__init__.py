"""Sprocket: cut a video at keyframes, run a pipeline over the chunks in parallel, stream the result.

The core library. Only ``sprocket_cli.cli`` may import typer or rich; everything else here
is screen-free so the TUI, the Lambda handler and scripts can use it.
"""

__version__ = "0.1.0"
