"""Payments ingest: YooKassa webhooks in, confirmed payment events out to Kafka."""
