# Two commands: `make demo` and `make test`. Both build their own virtual environments (outside the clone).
SHELL := /bin/bash
LINES ?= 0.4 0.5 0.6
DEMO_LINE ?= $(shell python3 -c 'import sys; print("0.6" if sys.version_info >= (3, 12) else "0.4")' 2>/dev/null || echo 0.4)

.PHONY: demo shell test lint compat constraints fixtures bench-sim

demo:
	bash scripts/demo.sh $(DEMO_LINE)

# an interactive shell in the demo's environment (its tools on the PATH)
shell:
	bash scripts/demo.sh --shell $(DEMO_LINE)

test:
	bash scripts/test.sh $(LINES)

lint:
	bash scripts/test.sh --lint-only

compat:
	bash scripts/compat.sh $(RELEASES)

constraints:
	bash scripts/freeze_constraints.sh $(LINES)

fixtures:
	bash scripts/make_v21_fixtures.sh

# the whole pipeline in simulation, closed loop (not part of demo/test): LeRobot 0.6 where Python 3.12 is found,
# else 0.4 (SIM_LINE=0.4 to choose); BENCH_ARGS="--device=cuda --steps=..." for a GPU run (docs/sim.md)
bench-sim:
	bash scripts/bench_sim.sh $(BENCH_ARGS)
