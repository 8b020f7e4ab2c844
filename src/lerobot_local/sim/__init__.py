"""Simulation: record the ``lerobot-env-so101`` scripted expert as a LeRobot v2.1 dataset, so the whole
pipeline (convert, check, lerobot-train, closed-loop eval) can be proven end to end without a robot."""
