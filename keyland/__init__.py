"""Keyland's shared runtime, imported by every service: settings, the Kafka publisher,
consumers and topic creation, the Mongo client, logs, health checks and metrics served to
operators, HTTP limits, retries. The operator and developer tooling is in
:mod:`keyland_tools`; the runtime never imports it."""
