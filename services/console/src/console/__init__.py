"""Pingan console: every role signs in and works in a browser (server-rendered pages, one origin)."""
