# kuomian: two commands do everything on a fresh machine with Python 3.11.
#   make run   virtualenv, install, demo region, registry, then the app on :8501
#   make test  install what the tests need (Debian chromium included), run them all
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(VENV)/bin/pip
DEMO   := data/demo
DB     := data/kuomian.duckdb
PORT   ?= 8501

.PHONY: run test install install-test browser demo demo-accounts lint lock bench clean

# Installs come from the lock files, so a fresh machine next year gets the
# versions this tree was tested with; `make lock` refreshes them.
$(VENV)/.installed: pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet -r requirements.lock
	$(PIP) install --quiet --no-deps -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed requirements-test.lock
	$(PIP) install --quiet -r requirements-test.lock
	touch $@

# Newest versions that satisfy pyproject.toml, written to the lock files.
lock: install
	$(PIP) install --quiet 'uv>=0.9'
	$(VENV)/bin/uv pip compile pyproject.toml --python-version 3.11 --upgrade \
		--custom-compile-command "make lock" -o requirements.lock
	$(VENV)/bin/uv pip compile pyproject.toml --extra test --python-version 3.11 --upgrade \
		-c requirements.lock --custom-compile-command "make lock" -o requirements-test.lock

install: $(VENV)/.installed

install-test: $(VENV)/.installed-test

# Debian's chromium and chromium-driver for the one end-to-end browser test.
browser:
	@if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then \
		echo "installing Debian chromium and chromium-driver"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium chromium-driver \
			fonts-noto-cjk >/dev/null; \
	fi

$(DEMO)/.done: $(VENV)/.installed
	$(VENV)/bin/kuomian demo --out $(DEMO)
	touch $@

demo: $(DEMO)/.done

$(DB): $(DEMO)/.done
	rm -f $(DB) $(DB).wal
	$(VENV)/bin/kuomian import $(DEMO) --db $(DB) > /dev/null
	$(VENV)/bin/kuomian build --db $(DB)

# Demo accounts, one per role (README, "演示账号"): made through the command line
# as an operator would, the password on stdin; an account that exists is kept.
# There is no default account anywhere else.
DEMO_PASSWORD := demo2025pass
DEMO_ACCOUNTS := demo_admin:admin demo_leader:leader demo_bureau:bureau demo_cadre:cadre:530199001
KUOMIAN ?= $(VENV)/bin/kuomian

$(DEMO)/.accounts: $(DB)
	@for spec in $(DEMO_ACCOUNTS); do \
		name=$${spec%%:*}; rest=$${spec#*:}; role=$${rest%%:*}; scope=$${rest#"$$role"}; \
		scope=$${scope#:}; \
		if ! $(KUOMIAN) user list --db $(DB) | cut -d, -f1 | grep -qx "$$name"; then \
			echo "$(DEMO_PASSWORD)" | $(KUOMIAN) user add "$$name" --role "$$role" \
				$${scope:+--scope $$scope} --db $(DB) || exit 1; \
		fi; \
	done
	touch $@

demo-accounts: $(DEMO)/.accounts

# Streamlit's own welcome banner looks up the machine's external IP on the
# internet (checkip.amazonaws.com): it is turned off, and this line says where to go.
run: $(DB) $(DEMO)/.accounts
	@echo "扩面增效 starting on http://localhost:$(PORT) (演示账号: see README)"
	$(VENV)/bin/streamlit run app.py --server.port $(PORT) --server.headless true \
		--browser.gatherUsageStats false

# Lint and format are checked first: a tree ruff would reformat does not pass.
# The tests run in TEST_WORKERS processes (pytest-xdist), each test file in one
# of them (its module fixtures built once): 400 s -> 250 s on 2 cores.
TEST_WORKERS ?= 2
test: lint browser
	$(PY) -m pytest -n $(TEST_WORKERS) --dist loadfile

LINTED := analytics geo pages tests bench app.py

lint: install-test
	$(VENV)/bin/ruff check $(LINTED)
	$(VENV)/bin/ruff format --check $(LINTED)

bench: install
	$(PY) bench/run.py --persons 100000 --json bench/out/bench-100000.json

clean:
	rm -rf $(VENV) $(DEMO) $(DB) $(DB).wal test-artifacts
