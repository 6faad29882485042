"""Keyland's deployables: one package per service."""
