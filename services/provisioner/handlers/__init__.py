"""The provisioner's use cases: users' desired access from events, each node brought in line."""
