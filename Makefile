# Two commands do all setup on a fresh machine:
#   make demo   installs what is needed, then runs the local demo end to end
#   make test   installs what is needed, then runs the linters and the tests (the slow
#               end-to-end and reliability tests excepted: `make test-slow`; CI runs both)
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cksum < pyproject.toml | cut -d' ' -f1)
PYTEST_ARGS ?=
# on: the tests' own session compiles generated code as the jobs do (tests/conftest.py)
LAKEHOUSE_TEST_CODEGEN ?= off
# checkov pins packages that conflict with great-expectations: it gets its own venv.
CHECKOV_VERSION := 3.3.30
INFRA_VENV := .venv-infra
INFRA_STAMP := $(INFRA_VENV)/.installed-checkov-$(CHECKOV_VERSION)

.PHONY: demo test test-slow test-all test-reliability lint infra-lint infra-tools clean java chromium jvm-archive

demo: $(STAMP) jvm-archive
	$(BIN)/lakehouse demo

# The tests' own session interprets expressions instead of compiling generated code for each
# query (tests/conftest.py INTERPRETED); drivers the tests start as the product starts them
# (the demo, the job scripts, spark-submit, serve) keep generated code (README, Development).
test: lint jvm-archive
	LAKEHOUSE_TEST_CODEGEN=$(LAKEHOUSE_TEST_CODEGEN) $(BIN)/pytest -n 2 --dist loadfile --no-loadscope-reorder -m "not slow and not reliability" $(PYTEST_ARGS)

# Streams end to end, real brokers and fakes, spark-submit, the report in Chromium, crash
# injection, hostile input; interpreted as `make test` is.
test-slow: $(STAMP) chromium jvm-archive
	LAKEHOUSE_TEST_CODEGEN=$(LAKEHOUSE_TEST_CODEGEN) $(BIN)/pytest -n 2 --dist loadfile --no-loadscope-reorder -m "slow or reliability" $(PYTEST_ARGS)

test-all: test test-slow

# Crash injection, hostile input, schema evolution, concurrency, CLI hardening (~25 minutes).
test-reliability: $(STAMP) jvm-archive
	LAKEHOUSE_TEST_CODEGEN=$(LAKEHOUSE_TEST_CODEGEN) $(BIN)/pytest -p no:xdist -m reliability -s $(PYTEST_ARGS)

lint: $(STAMP) infra-lint
	$(BIN)/ruff check lakehouse jobs tests bench
	$(BIN)/ruff format --check lakehouse jobs tests bench
	$(BIN)/mypy

# Security scan of infra/ for each environment (offline: no platform calls, no downloads).
infra-lint: infra-tools
	for env in infra/environments/*.tfvars; do \
		BC_SKIP_MAPPING=TRUE $(INFRA_VENV)/bin/checkov --directory infra --framework terraform \
			--var-file $$env --skip-download --quiet --compact || exit 1; \
	done

infra-tools: $(INFRA_STAMP)

$(INFRA_STAMP):
	$(PYTHON) -m venv $(INFRA_VENV)
	$(INFRA_VENV)/bin/pip install -q checkov==$(CHECKOV_VERSION)
	rm -f $(INFRA_VENV)/.installed-*
	touch $@

# The driver JVM's class-data-sharing archive (lakehouse/jvm_archive.py): made once per
# Java runtime and virtual environment by a clean warm-up run (~40 s), then every Spark start maps
# Spark's and Delta's classes from it (about 4 s sooner); kept when it is there.
jvm-archive: $(STAMP)
	$(BIN)/python -m lakehouse.jvm_archive

java:
	@if ! command -v java >/dev/null 2>&1; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
			echo "installing Java 17 (Spark needs Java 17 or 21)"; \
			apt-get update -q && apt-get install -y -q openjdk-17-jre-headless; \
		else \
			echo "Spark needs Java 17 or 21: install it (e.g. apt-get install openjdk-17-jre-headless)"; \
			exit 1; \
		fi; \
	fi

# The HTML report test drives the system Chromium with Playwright (Playwright's own browser
# download is not used). The test skips, saying why, only where Chromium cannot be installed.
chromium:
	@if ! command -v chromium >/dev/null 2>&1; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
			echo "installing Chromium (the report test opens the report in it)"; \
			apt-get update -q && apt-get install -y -q chromium; \
		else \
			echo "warning: Chromium is missing and cannot be installed here (apt-get install chromium as root); the report browser test will skip"; \
		fi; \
	fi

$(STAMP): pyproject.toml | java
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e ".[dev]"
	rm -f $(VENV)/.installed-*
	touch $@

clean:
	rm -rf lake spark-warehouse .pytest_cache .mypy_cache .ruff_cache
