# Entry points. Each target installs what it needs (idempotent, cached).
SHELL := /bin/bash
.ONESHELL:
.SHELLFLAGS := -eu -o pipefail -c
# The environment a target runs in: TOOLS (virtualenv, collection path) is
# enough for lint, docs, sanity and units; TESTBED adds the Go-built binaries
# and the images (integration, molecule, galaxy, demo, bench). The assignment
# fails the recipe (set -e) when the env script fails; `eval "$$(script)"`
# alone would eval "" and carry on with whatever is on PATH.
TOOLS = tools_env="$$(scripts/tools-env.sh)"; eval "$$tools_env"
TESTBED = testbed_env="$$(scripts/testbed-env.sh)"; eval "$$testbed_env"
MOLECULE_SCENARIOS ?= $(notdir $(patsubst %/molecule.yml,%,$(wildcard molecule/*/molecule.yml)))
# Longest first, so the lanes end together; a scenario not named here runs after these.
LONGEST_FIRST = faults security default disaster_recovery join upgrade clients oidc
ORDERED_SCENARIOS = $(filter $(MOLECULE_SCENARIOS),$(LONGEST_FIRST)) $(filter-out $(LONGEST_FIRST),$(MOLECULE_SCENARIOS))
# sanity-all is CPU work, the scenarios mostly wait on containers: they share the lanes well.
# The scenarios of CONTROLLER_SCENARIOS run on the Debian 13 controller's newest ansible-core in make
# test (molecule-2.21-S), the others on the host's 2.19 (molecule-S); sanity and units run on both.
CONTROLLER_SCENARIOS = default clients
lane_scenarios = $(foreach s,$(filter $(ORDERED_SCENARIOS),$1),$(if $(filter $s,$(CONTROLLER_SCENARIOS)),molecule-2.21-$s,molecule-$s))
# integration is as long as the longest scenario (~400 module calls at ~1.3 core-s of ansible start-up each): first.
LANE_TARGETS = integration $(call lane_scenarios,faults security default) sanity-all sanity-2.20 sanity-2.21 units-2.21 bench-quick \
	$(call lane_scenarios,$(filter-out faults security default,$(ORDERED_SCENARIOS))) galaxy

.PHONY: demo test setup tools lint docs sanity sanity-all apt-ansible units integration galaxy molecule bench bench-quick sweep clean-demo

## demo: build what is needed, start the lab container, run site.yml against it
demo: setup
	$(TESTBED)
	scripts/demo.sh

## test: the whole suite (what CI runs). lint and units first (two minutes, and they stop a broken
## tree early); then sanity, integration, galaxy and the molecule scenarios, TEST_LANES (2) at a time
## (scripts/test-lanes.sh: one log per target in .test-logs/, a failure's tail printed last).
test: setup lint units
	# disaster_recovery's S3 store (minutes of Go build on a new machine) builds beside the first lanes,
	# which mostly wait on containers; that lane's own build call then waits for it, or finds it cached.
	scripts/build-binaries.sh s3-server >/tmp/tailnet-s3-server-build.log 2>&1 &
	scripts/test-lanes.sh $(LANE_TARGETS)

setup: tools
	scripts/host-setup.sh
	scripts/build-binaries.sh
	scripts/base-images.sh

## tools: the test virtualenv and the collection path (cached; what lint, docs, sanity and units need)
tools:
	scripts/venv.sh

lint: tools
	$(TOOLS)
	yamllint --strict .
	# Undefined names, unused variables: the molecule tests, scripts and bench (pyflakes' checks only).
	git ls-files -z '*.py' | xargs -0 flake8 --select F
	ansible-lint --profile production
	python3 scripts/check-argument-specs.py
	python3 scripts/gen-docs.py --check
	python3 scripts/check-doc-tests.py
	# docs/hardening.md "What the audit checks" lists the audit module's checks, and their runbook links resolve.
	python3 scripts/check-audit-table.py
	# The alert rules (roles/monitoring) are valid and every rule is unit-tested, fires and stays quiet
	# (promtool from Debian's prometheus package, scripts/promtool.sh); the audit's metrics parse.
	promtool="$$(scripts/promtool.sh)"
	"$$promtool" check rules roles/monitoring/files/tailnet-headscale.rules.yml
	"$$promtool" test rules tests/monitoring/rules-test.yml
	python3 scripts/check-alert-rules.py
	PROMTOOL="$$promtool" scripts/units.sh tests/unit/plugins/module_utils/test_audit_metrics.py -k promtool
	python3 scripts/check-core-versions.py
	python3 scripts/gen-refusal-counts.py --check
	# The benchmark tables of README.md and docs/benchmarks.md are written from bench/results.
	python3 bench/tables.py --check
	# Fenced commands of the user docs parse (molecule join runs them).
	python3 molecule/join/tests/doc_commands.py
	antsibull-changelog lint
	# CHANGELOG.rst is generated from changelogs/changelog.yaml: it must match.
	antsibull-changelog generate && git diff --exit-code -- CHANGELOG.rst

## docs: regenerate docs/reference from the modules' docs and the roles' argument_specs
docs: tools
	$(TOOLS)
	python3 scripts/gen-docs.py
	python3 scripts/gen-refusal-counts.py

sanity: tools
	$(TOOLS)
	scripts/sanity.sh

## sanity-all: ansible-test sanity of the host's ansible-core (2.19) and of SANITY_CORE_VERSIONS, each from its
## own venv (about 30 s per version once the venvs are cached, 1.5-2.5 min on a fresh machine). 2.16 and 2.17 are
## past their end of life: SANITY_CORE_VERSIONS="2.16.19 2.17.14 2.18.19" make sanity-all still checks them.
SANITY_CORE_VERSIONS ?= 2.18.19
sanity-all: sanity
	$(TOOLS)
	for v in $(SANITY_CORE_VERSIONS); do ANSIBLE_CORE_VERSION=$$v scripts/sanity.sh; done

## sanity-2.20, sanity-2.21, units-2.21, molecule-2.21-S: on the Debian 13 controller (scripts/controller.sh,
## Python 3.13; ansible-core 2.20 and later need Python >= 3.12), pinned by tests/controller/requirements-CORE.txt
sanity-2.%: tools
	scripts/controller.sh 2.$* scripts/sanity.sh

units-2.%: tools
	scripts/controller.sh 2.$* scripts/units.sh

## apt-ansible: what Debian 12's apt ansible-core (2.14, too old) prints, as docs/quick-start.md quotes it
apt-ansible: tools
	$(TOOLS)
	scripts/apt-ansible-test.sh

molecule-2.21-%:
	$(TESTBED)
	echo "==> molecule test -s $* on ansible-core 2.21"
	flock /tmp/tailnet-molecule-$*.lock scripts/controller.sh 2.21 molecule test -s "$*"

## units: unit tests only, in seconds, with no Go binary and no Docker (module cases on recorded CLI output)
units: tools
	$(TOOLS)
	scripts/units.sh

## integration: modules against real headscale processes on loopback (both supported versions)
integration:
	$(TESTBED)
	python3 -m pytest -q -p no:cacheprovider --durations=25 tests/integration

## galaxy: build the tarball, install it into an empty path, run site.yml and a module from it
galaxy:
	$(TESTBED)
	scripts/galaxy-test.sh

## molecule: every scenario, TEST_LANES (2) at a time; molecule-S: scenario S alone
molecule:
	scripts/test-lanes.sh $(addprefix molecule-,$(ORDERED_SCENARIOS))

# disaster_recovery's S3 store (SeaweedFS, lab/s3-server) is built in this lane on first use, not in
# setup, so no other lane waits for it.
molecule-disaster_recovery:
	scripts/build-binaries.sh s3-server
	$(TESTBED)
	echo "==> molecule test -s disaster_recovery"
	flock /tmp/tailnet-molecule-disaster_recovery.lock molecule test -s disaster_recovery

# Under the scenario's lock: container names are fixed per scenario, so a second
# run of the same scenario on this machine (another checkout) waits for the first.
molecule-%:
	$(TESTBED)
	echo "==> molecule test -s $*"
	flock /tmp/tailnet-molecule-$*.lock molecule test -s "$*"

## bench: every benchmark, then one summary of all figures vs their goals and the plots
## (docs/bench-scaling.png, docs/bench-fleet.png). Asserts nothing; exits 1 only when a benchmark
## produced no figures. BENCH_QUICK=1: the quick bench only (bench-quick).
bench: $(if $(BENCH_QUICK),bench-quick,setup)
	[ -z "$(BENCH_QUICK)" ] || exit 0
	$(TESTBED)
	# Only what this target measures: bench/results/disaster_recovery.json comes from its molecule scenario.
	rm -f $(addprefix bench/results/,$(addsuffix .json,server upgrade modules nodes join))
	status=0
	bench/server.sh || status=1
	bench/upgrade.sh || status=1
	python3 bench/modules.py || status=1
	python3 bench/join.py || status=1
	"$$(bench/venv.sh)/bin/python" bench/report.py || status=1
	exit $$status

## bench-quick: the nodes benchmark at N=10, one round, no containers, into a throwaway results
## directory, and its summary (seconds; make test runs it so the bench code cannot rot)
bench-quick:
	$(TESTBED)
	results="$$(mktemp -d)"
	trap 'rm -rf "$$results"' EXIT
	export BENCH_RESULTS="$$results"
	BENCH_NODES_N=10 BENCH_ROUNDS=1 python3 bench/modules.py nodes
	python3 bench/report.py --no-write --no-plot

## sweep: the full crash sweep of molecule/faults (every kill point of both runs; make test runs one per
## phase), then its figures (molecule/faults/results/sweep.json) into the README table. Asserts as make test does.
sweep: setup
	$(TESTBED)
	TAILNET_FAULTS_SAMPLE=0 TAILNET_FAULTS_RESULTS="$(CURDIR)/molecule/faults/results/sweep.json" \
	  PYTEST_ADDOPTS="-k killed_at_any_task" flock /tmp/tailnet-molecule-faults.lock molecule test -s faults
	python3 bench/tables.py

clean-demo:
	docker rm -f tailnet-headscale-demo >/dev/null 2>&1 || true
