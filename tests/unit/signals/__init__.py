"""Unit tests of pipeline.signals."""
