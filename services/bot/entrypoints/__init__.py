"""How updates reach the dispatcher: long polling or Telegram's webhook."""
