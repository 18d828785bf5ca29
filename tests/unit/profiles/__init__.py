"""Unit tests of pipeline.profiles."""
