"""Pure rules of what to tell whom and when."""
