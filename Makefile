# Two commands on a fresh machine: `make demo` and `make test`.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
DEMO_OUT ?= demo-out

.PHONY: demo test install sysdeps bench clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

# poppler-utils gives the tests an independent signature validator (pdfsig) and page rasteriser
# (pdftoppm); softhsm2 is the PKCS#11 token the HSM tests use (they need both softhsm2-util, from
# softhsm2, and the module, from libsofthsm2, which can be present without the tool); chromium
# renders the public page in the browser tests; clamav scans archive packages (4-2 of DA/T 70). Installed
# only when missing, as root.
SYSPKGS_MISSING = $(strip $(if $(shell command -v pdfsig),,poppler-utils) \
                          $(if $(and $(shell command -v softhsm2-util),$(wildcard /usr/lib/softhsm/libsofthsm2.so)),,softhsm2) \
                          $(if $(shell command -v chromium),,chromium) \
                          $(if $(shell command -v clamscan),,clamav))
sysdeps:
	@if [ -n "$(SYSPKGS_MISSING)" ]; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq $(SYSPKGS_MISSING) >/dev/null; \
	  else echo "missing system packages: run 'sudo apt-get install $(SYSPKGS_MISSING)'" >&2; exit 1; fi; fi

demo: $(STAMP)
	$(BIN)/yiyin demo --out $(DEMO_OUT)

test: $(STAMP) sysdeps
	$(BIN)/pytest -n 2 -q

bench: $(STAMP)
	$(BIN)/python bench/bench_issue.py

clean:
	rm -rf $(VENV) $(DEMO_OUT) .pytest_cache
