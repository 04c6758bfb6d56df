"""Helpers that only the tests use, each with tests of its own beside it."""
