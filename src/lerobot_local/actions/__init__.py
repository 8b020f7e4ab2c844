"""Built-in after-checkpoint actions, each a plugin module on the ``lerobot_local`` entry-point group."""
