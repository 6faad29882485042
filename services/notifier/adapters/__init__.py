"""The notifier's storage (notices, claims, broadcasts), its Telegram sender and how notices read there."""
