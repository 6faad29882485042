"""The provisioner: keeps every user's key enabled on every country node exactly while they
have access, and serves each user's subscription URL."""
