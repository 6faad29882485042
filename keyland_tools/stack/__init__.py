"""The local stack: real Kafka and FerretDB (later the services and nodes), started on loopback.

Each component knows how to obtain its binaries into the cache, start detached with its
log in a file, answer whether it is ready through a real client call, and stop.
"""
