"""Pure provisioning rules: a user's desired access, the countries, what to change on a node,
the subscription page. No I/O here."""
