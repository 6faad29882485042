"""What operators see of a running service: structured logs, Prometheus metrics, health."""
