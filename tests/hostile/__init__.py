"""Hostile input: untrusted values at every section."""
