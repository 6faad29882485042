"""Keyland's operator and developer tooling behind the ``keyland`` command: the local
stack, the operations (replay, dead letters, lag, state hash, user views) and the demo.

It imports the runtime (:mod:`keyland`), the event vocabulary and, where an operator looks
at what a service stores, that service's modules; nothing in the runtime or the services
imports it (``tests/unit/test_package_layers.py``).
"""
