"""Inline keyboards, labelled in the viewer's language."""
