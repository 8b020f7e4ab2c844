"""Did it learn? Held-out episodes, validation at every checkpoint, the best checkpoint, offline evaluation of
any checkpoint (``lerobot-local eval``) and one self-contained HTML report per run.

One module per job: ``config`` (the settings section), ``split`` (which episodes are held out), ``check``
(the before-train row), ``metrics`` (loss and per-joint action error of a policy on frames), ``training``
(what runs inside ``lerobot-train``), ``best`` (the best checkpoint and its pointer), ``plots`` and
``report`` (the pictures and the HTML file), ``eval_cli`` (the subcommand: routing
to the closed loop, the report), ``eval_args`` (its flags), ``eval_offline`` (the offline evaluation).
"""
