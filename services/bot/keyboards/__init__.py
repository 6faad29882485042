"""Inline keyboards, labelled in the viewer's language, and the callback data behind them."""
