"""The node agent's ways out: Xray's gRPC API and its own durable record."""
