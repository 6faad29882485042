"""The notifier's storage (notices, claims, broadcasts) and its Telegram sender."""
