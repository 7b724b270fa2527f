"""Harness: how fine-tuning changes a transformer's representation space."""
__version__ = "0.1.0"
