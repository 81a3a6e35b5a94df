# The course's commands. `make book` and `make test` are the two a newcomer needs;
# both create .venv from requirements.txt first (again whenever requirements.txt
# or pyproject.toml is newer than the last install).

SHELL := /bin/bash
.SHELLFLAGS := -eo pipefail -c
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
# pytest workers for `make test` (pytest-xdist): "auto" is one per core.
JOBS ?= auto
AXE_VERSION := 4.14.1
CHP_VERSION := 5.3.0
STUDENTS ?= 2
DB ?= sqlite
# the source notebooks of a graded class: a private folder keeps its hidden tests private
SOURCE ?= solutions
# the changes `make test` makes to the machine as root, undone when it ends
SANDBOX_RECORD := $(VENV)/sandbox-changes.json
AXE := $(VENV)/axe/node_modules/axe-core/axe.min.js
CHP := $(VENV)/chp/node_modules/.bin/configurable-http-proxy

# Every command below runs the tools of .venv, whatever the caller's PATH holds.
export PATH := $(abspath $(BIN)):$(PATH)
export PYTHONHASHSEED := 0

.PHONY: help setup system-packages node-tools book test test-all serve exercises grade bench linkcheck clean classroom classroom-down

help:
	@echo "make book        set up .venv, build the site into _build/html (all notebooks executed)"
	@echo "make test        set up .venv, run the test suite's first tier (minutes)"
	@echo "make test-all    both tiers: every test, as CI runs them"
	@echo "make serve       serve _build/html on http://$(HOST):$(PORT) (PORT=... to change)"
	@echo "make exercises   regenerate exercises/ from solutions/ with nbgrader"
	@echo "make grade NB=path/to/notebook.ipynb   score a filled-in exercise notebook"
	@echo "make bench       measure notebook, build and grading times (benchmarks/RESULTS.md);"
	@echo "                 CHECK=1 (or --check) also enforces the time budgets"
	@echo "make linkcheck   check the site's external links (needs network)"
	@echo "make classroom   (as root) a local JupyterHub with nbgrader: one instructor, STUDENTS=2"
	@echo "                 students; Ctrl-C or make classroom-down removes it all"
	@echo "make clean       remove _build and caches (keeps .venv)"

setup: $(INSTALLED) node-tools

$(INSTALLED): requirements.txt pyproject.toml
	@$(PYTHON) -c 'import sys; v = sys.version_info[:2]; sys.exit(0 if v == (3, 11) else f"Python 3.11 is required, {sys.executable} is {v[0]}.{v[1]}: run make PYTHON=/path/to/python3.11")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@# (the grep drops pip's notes about this machine's missing local mirror folders)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt \
		2> >(grep -v "is ignored: it is neither a file nor a directory" >&2)
	@# cffconvert validates CITATION.cff; it pins an old jsonschema, so it lives in its own venv
	@test -x $(VENV)/cff/bin/cffconvert || { $(PYTHON) -m venv $(VENV)/cff && \
		$(VENV)/cff/bin/python -m pip install --quiet --disable-pip-version-check cffconvert==2.0.0 \
		2> >(grep -v "is ignored: it is neither a file nor a directory" >&2); }
	@touch $@

# From the npm registry, each installed once npm is there (system-packages brings npm):
# axe-core, injected into pages by the accessibility tests, and configurable-http-proxy,
# JupyterHub's proxy, for `make classroom`.
$(AXE): | $(INSTALLED)
	@if command -v npm >/dev/null; then \
		npm install --silent --no-audit --no-fund --prefix $(VENV)/axe axe-core@$(AXE_VERSION); \
	else echo "npm not found: the accessibility checks of the browser tests will be skipped"; fi
$(CHP): | $(INSTALLED)
	@if command -v npm >/dev/null; then \
		npm install --silent --no-audit --no-fund --prefix $(VENV)/chp configurable-http-proxy@$(CHP_VERSION); \
	else echo "npm not found: make classroom and its tests need configurable-http-proxy"; fi
node-tools: $(AXE) $(CHP)

# Debian's packages that tests drive: Chromium (browser tests), sudo (the classroom's
# grading rule), PostgreSQL's server (its gradebook) and npm (the two tools above). As root
# with apt-get, the missing ones are installed; otherwise one line says what to install,
# and only the tests that need them are skipped.
system-packages:
	@missing=""; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	command -v sudo >/dev/null || missing="$$missing sudo"; \
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$$missing postgresql"; \
	command -v npm >/dev/null || missing="$$missing npm"; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "make: installing Debian packages the tests need:$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq$$missing >/dev/null; \
	else \
		echo "make: missing$$missing; install them (sudo apt-get install$$missing): the tests that need them are skipped"; \
	fi

# -W: any warning fails the build; --keep-going: report every problem in one run.
# Both first bring the repository's address, wherever it is written, in step with
# _config.yml (a fork changes one line there).
book: $(INSTALLED)
	$(BIN)/python -m regcourse.authoring.repository
	$(BIN)/jupyter-book build . -W -n --keep-going

# `make test` runs the first tier, `make test-all` every test: the second tier adds minutes
# of JupyterHub, fresh environments on four Pythons, seed sweeps, and every catalogue graded
# with cold kernels too. CI runs `make test-all`.
# As root, grading kernels run as unprivileged users: the sandbox setup creates them and
# prints every change it makes to the machine; the same changes are undone when the tests
# end, pass or fail or Ctrl-C (a sandbox that existed before is left alone).
# A test marked `alone` loads both cores on purpose (a class at once) and times what it
# does: beside other tests it would slow them past their limits and measure them too, so
# `make test-all` runs it after the rest, by itself.
PYTEST_test := $(BIN)/python -m pytest -n $(JOBS) -m "not tier2" --durations=25
PYTEST_test-all := $(BIN)/python -m pytest -n $(JOBS) -m "not alone" --durations=25 \
	&& $(BIN)/python -m pytest -m alone --durations=5
# Runs its argument inside the grading sandbox: as root, set up first and undone after.
SANDBOXED = if [ "$$(id -u)" = 0 ]; then \
		trap '$(BIN)/regcourse sandbox remove --record $(SANDBOX_RECORD)' EXIT; \
		trap 'exit 130' INT TERM; \
		$(BIN)/regcourse sandbox setup --record $(SANDBOX_RECORD); \
	fi;
test test-all: system-packages $(INSTALLED) node-tools
	$(BIN)/python -m regcourse.authoring.repository
	@$(SANDBOXED) $(PYTEST_$@)

# A local JupyterHub for the course (root: it creates the instructor's and students' Unix
# users). It stays up until Ctrl-C, which takes it down; `make classroom-down` does the same
# from another terminal and does nothing when no classroom runs.
classroom: $(INSTALLED) $(CHP)
	$(BIN)/regcourse classroom up --students $(STUDENTS) --db $(DB) --source $(SOURCE) --wait

classroom-down: $(INSTALLED)
	$(BIN)/regcourse classroom down

serve:
	@test -f _build/html/index.html || { echo "No site in _build/html yet: run make book first." >&2; exit 1; }
	@echo "Serving http://$(HOST):$(PORT)/ (Ctrl-C stops)"
	$(PYTHON) -m http.server --bind $(HOST) --directory _build/html $(PORT)

exercises: $(INSTALLED)
	$(BIN)/python -m regcourse.authoring.release solutions exercises

# As root, kernels run as unprivileged sandbox users: the first grade creates them (each
# change printed; `regcourse sandbox remove` undoes them). Without root nothing changes.
grade: $(INSTALLED)
	@test -n "$(NB)" || { echo "usage: make grade NB=path/to/notebook.ipynb" >&2; exit 2; }
	@if [ "$$(id -u)" = 0 ]; then $(BIN)/regcourse sandbox setup --quiet; fi
	$(BIN)/regcourse grade "$(NB)"

# `make bench CHECK=1` (or `make bench --check`, which make itself reads as its -L flag)
# also enforces the budgets: exit 1 when one is broken.
# As root the grading sections need the sandbox (the suite section's `make test` sets up its
# own: it finds this one in place and leaves it to be undone here).
bench: SANDBOX_RECORD := $(VENV)/sandbox-changes-bench.json
bench: system-packages $(INSTALLED) node-tools
	@$(SANDBOXED) $(BIN)/python -m benchmarks $(if $(or $(CHECK),$(findstring L,$(firstword -$(MAKEFLAGS)))),--check) $(BENCHFLAGS)

linkcheck: $(INSTALLED)
	$(BIN)/jupyter-book build . --builder linkcheck

clean:
	rm -rf _build .pytest_cache .jupyter_cache
	find . -name __pycache__ -not -path './.venv/*' -prune -exec rm -rf {} +
