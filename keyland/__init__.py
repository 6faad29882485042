"""Keyland's shared runtime: settings, Kafka and Mongo adapters, the local stack, the CLI."""
