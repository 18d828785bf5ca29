"""Unit tests of pipeline.sessions."""
