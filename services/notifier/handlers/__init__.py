"""The notifier's use cases: planning from events, sending due notices, broadcasts."""
