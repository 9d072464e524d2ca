# Set-up and the two everyday jobs. `make demo` and `make test` work on a fresh clone.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test test-fast install bench clean

$(BIN)/lnob: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	# the CPU build of torch first, so nothing pulls a CUDA build
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e ".[test]"
	touch $(BIN)/lnob

# the theme explorer's small plotly.js bundle, from npm, checked against the SHA-256 pinned in
# analysis/reports/plotlyjs.py; without it the explorer inlines plotly's full bundle and only opens more
# slowly, so a failure here is a warning
PLOTLY_JS := $(VENV)/share/lnob/plotly-basic.min.js
$(PLOTLY_JS): $(BIN)/lnob analysis/reports/plotlyjs.py
	$(BIN)/python -c "from analysis.reports.plotlyjs import main; raise SystemExit(main(['install']))" || true

install: $(BIN)/lnob $(PLOTLY_JS)

demo: $(BIN)/lnob $(PLOTLY_JS)
	$(BIN)/lnob demo

# the suite in WORKERS processes (pytest-xdist; README, "Tests"); WORKERS=0 runs it in this one
WORKERS ?= 2
test: $(BIN)/lnob $(PLOTLY_JS)
	$(BIN)/python -m pytest -q -n $(WORKERS) --dist loadscope --no-loadscope-reorder

# everything but the tests marked slow (README, "Tests"): under two minutes on two cores
test-fast: $(BIN)/lnob $(PLOTLY_JS)
	$(BIN)/python -m pytest -q -n $(WORKERS) --dist loadscope --no-loadscope-reorder -m "not slow"

bench: $(BIN)/lnob
	$(BIN)/pip install --quiet -e ".[bench]"
	$(BIN)/python bench/bench_ingest.py
	$(BIN)/python bench/bench_search.py
	$(BIN)/python bench/bench_demo_memory.py
	$(BIN)/python bench/bench_themes.py

clean:
	rm -rf $(VENV) demo-data .pytest_cache
