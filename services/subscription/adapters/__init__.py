"""Where the subscription processor keeps its state: ``users`` and ``payments``."""
