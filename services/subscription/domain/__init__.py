"""Pure subscription rules: dates, trial, referral, horizon, refunds. No I/O here."""
