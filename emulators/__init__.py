"""Local stand-ins for third-party SaaS, speaking their real wire formats.

Tests and the local demo point our real clients (the official SDKs) at these servers
instead of the real services; each emulator also offers control routes that play the
part of the outside world (a payer paying, a bank declining, a provider redelivering).
"""
