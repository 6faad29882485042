"""The Mini App cabinet: the bot's web face inside Telegram (``python -m services.bot
cabinet``), opened from the bot's menu button."""
