"""The aiogram ``Bot`` client the bot and the notifier talk to Telegram through."""
