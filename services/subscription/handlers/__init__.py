"""The subscription processor's use cases: events into users' ledgers, the expiry sweep,
the weekly cleanup, the business figures."""
