"""Kafka adapters shared by the services: publisher, topic creation, faust app, DLQ."""
