"""Offline demo helpers (tiny SmolVLM backbone)."""
