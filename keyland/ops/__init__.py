"""Operator tools behind the ``keyland`` command line: replay, dead letters, lag."""
