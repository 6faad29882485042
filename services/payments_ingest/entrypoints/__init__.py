"""The HTTP face of payments ingest."""
