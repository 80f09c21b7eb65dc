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

.PHONY: run test install install-test browser demo lint bench clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(PIP) install --quiet -e '.[test]'
	touch $@

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

run: $(DB)
	$(VENV)/bin/streamlit run app.py --server.port $(PORT) --server.headless true \
		--browser.gatherUsageStats false

test: install-test browser
	$(PY) -m pytest

lint: install-test
	$(VENV)/bin/ruff check analytics geo pages tests app.py

bench: install
	$(PY) bench/run.py

clean:
	rm -rf $(VENV) $(DEMO) $(DB) $(DB).wal test-artifacts
