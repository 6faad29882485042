"""Pure rules of the bot: admin command syntax, durations, deep links. No I/O."""
