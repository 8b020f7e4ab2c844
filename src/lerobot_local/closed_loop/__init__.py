"""Closed-loop evaluation: run a policy in a simulator and count the episodes the env says succeeded."""
