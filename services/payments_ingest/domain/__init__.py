"""Pure rules: whom to trust, and what makes a notification creditable."""
