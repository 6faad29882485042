"""Pure rules of the bot: admin command syntax, durations, deep links; the pictures it
sends (QR code, stats chart). No I/O."""
