"""``python -m keyland`` is the ``keyland`` command."""

from keyland.cli import app

app()
