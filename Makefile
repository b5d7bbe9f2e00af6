# make demo : set up ansible-core alone and run the tour (playbooks/demo.yml) on local file:// stores in demo/
# make test : set up and run the whole test suite (what CI runs)
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
COLLECTIONS := build/collections
export ANSIBLE_COLLECTIONS_PATH := $(CURDIR)/$(COLLECTIONS)
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: setup demo demo-clean test unit integration reliability sanity galaxy lint versions docs docs-lint bench clean test-suites test-reliability-and-packaging

$(BIN)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	# system packages some test servers and sanity tests need (Debian), when a module asks for them
	for script in tests/servers/*.install.sh tests/sanity/*.install.sh; do if [ -e "$$script" ]; then bash "$$script" || exit 1; fi; done
	touch $@

$(COLLECTIONS)/ansible_collections/kops/state_store:
	mkdir -p $(COLLECTIONS)/ansible_collections/kops
	ln -sfn $(CURDIR) $@

setup: $(BIN)/.installed $(COLLECTIONS)/ansible_collections/kops/state_store

# The demo needs ansible-core alone (the file:// backend needs nothing more: PyYAML and cryptography come with it),
# at the tests' pins; a .venv that make setup filled has them already, and make setup later adds everything else.
# Quick: the venv gets no pip of its own when the system's pip can install into it (--python, pip 22.3+); pip
# byte-compiles what it installs, so later runs do not compile ansible-core again where PYTHONDONTWRITEBYTECODE keeps
# Python from caching what it imports; -qq shows pip's errors only.
$(BIN)/.demo-installed: requirements-dev.txt
	@if [ ! -e $(BIN)/.installed ]; then \
	  $(PYTHON) -m venv --without-pip $(VENV) && \
	  if $(PYTHON) -m pip --python $(BIN)/python --version >/dev/null 2>&1; then pip="$(PYTHON) -m pip --python $(BIN)/python"; \
	  else $(BIN)/python -m ensurepip >/dev/null && pip="$(BIN)/python -m pip"; fi && \
	  $$pip install -qq $$(grep -E '^(ansible-core|cryptography)==' requirements-dev.txt); \
	fi
	@touch $@

# Skipped tasks (what an earlier run already made) are not shown; diffs show one line of context.
demo: $(BIN)/.demo-installed $(COLLECTIONS)/ansible_collections/kops/state_store
	ANSIBLE_DISPLAY_SKIPPED_HOSTS=false ANSIBLE_DIFF_CONTEXT=1 $(BIN)/ansible-playbook -i localhost, -c local \
	  -e ansible_python_interpreter=$(CURDIR)/$(BIN)/python playbooks/demo.yml

demo-clean:
	rm -rf demo

unit: setup
	$(BIN)/python -m pytest tests/unit

integration: setup
	$(BIN)/python -m pytest tests/integration

sanity: setup
	tests/sanity/run.sh

galaxy: setup
	tests/galaxy/check.sh

# ansible-lint (production profile) and galaxy-importer on the built tarball, in their own venv
lint: setup
	tests/lint/run.sh

# the backend contract suites and tests/reliability; rewrites docs/reliability.md on purpose (make test writes the
# same figures to build/reliability.md only)
reliability: setup
	KOPS_RELIABILITY_PAGE=docs/reliability.md $(BIN)/python -m pytest tests/unit/plugins/module_utils/backends/test_local_backend.py \
	  tests/unit/plugins/module_utils/backends/test_memfs_backend.py tests/integration/backends tests/reliability

# sanity and unit tests on the oldest and newest supported ansible-core; the server-backed backend suites on the
# oldest supported SDKs
versions: setup
	tests/versions/run.sh

# regenerate docs/reference from the plugins' documentation
docs: setup
	$(BIN)/python tests/docs/build_reference.py

# the plugins' and roles' documentation as the ecosystem's docs tooling reads it
docs-lint: setup
	cd $(COLLECTIONS)/ansible_collections/kops/state_store && $(BIN)/antsibull-docs lint-collection-docs --plugin-docs .

# a measurement, not a test (see benchmarks/README.md); not part of make test
bench: setup
	$(BIN)/python benchmarks/sync_s3.py
	$(BIN)/python benchmarks/migrate_s3.py
	$(BIN)/python benchmarks/fleet_upgrade.py
	$(BIN)/python benchmarks/fleet_report.py --baseline-clusters 10
	$(BIN)/python benchmarks/history.py

# The quick checks, then sanity (it may install its pinned checkers into .venv, so nothing else runs meanwhile),
# then three independent streams at once (their output comes whole, stream by stream): the unit and integration
# suites on two workers; the reliability suite (mostly waiting on lock lifetimes and faults) with the packaging
# checks; the supported ansible-core and SDK versions.
test: setup
	tests/ee/check.sh
	$(BIN)/antsibull-changelog lint
	$(BIN)/python tests/docs/build_reference.py --check
	$(MAKE) --no-print-directory docs-lint
	tests/sanity/run.sh
	$(MAKE) --no-print-directory -j3 --output-sync=target test-suites test-reliability-and-packaging versions

test-suites: setup
	$(BIN)/python -m pytest -n 2 --dist loadfile tests/unit tests/integration

test-reliability-and-packaging: setup
	$(BIN)/python -m pytest tests/reliability
	tests/galaxy/check.sh
	tests/lint/run.sh

clean:
	rm -rf build $(VENV) tests/output demo
