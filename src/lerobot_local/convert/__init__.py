"""The v2.x -> v3.0 dataset converters."""
