"""The subscription processor: turns payments, bot actions and admin commands into access."""
