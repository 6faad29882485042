"""``python -m keyland_tools`` is the ``keyland`` command."""

from keyland_tools.cli import app

app()
