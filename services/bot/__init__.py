"""The Telegram bot: users' menu (trial, keys, purchase, profile, referrals, region,
support) and the admin panel. It publishes events and reads state; it never writes
subscription state."""
