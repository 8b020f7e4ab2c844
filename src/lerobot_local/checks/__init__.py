"""Built-in before-train checks: one plugin module per family, all on the ``lerobot_local`` entry points."""
