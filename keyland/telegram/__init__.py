"""What the bot and the notifier share about Telegram: callback data, the API client."""
