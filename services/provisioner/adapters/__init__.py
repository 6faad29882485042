"""The provisioner's ways out: the node agents, the countries file, the ``node_keys`` collection."""
