"""``python -m sprocket_cli``: the same as the ``sprocket`` command."""

from sprocket_cli.cli import app

app(prog_name="sprocket")
