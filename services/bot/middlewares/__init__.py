"""Middlewares: who is talking to the bot, in which language."""
