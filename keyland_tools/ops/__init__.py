"""Operator tools behind the ``keyland`` command line: replay, dead letters, lag, the
state hash, user views."""
