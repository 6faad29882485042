"""Pure provisioning rules: a user's desired access, the countries, what to change on a node,
the subscription page, the in-memory access book. No I/O here."""
