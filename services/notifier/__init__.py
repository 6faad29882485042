"""The notifier: durable, once-only messages to users — notices, reminders, broadcasts."""
