# make bench: sweep registries of growing size in moto (in-process) and check the scale targets.
# Not part of `make test`. Quick mode: make bench BENCH_SIZES=small. See bench/run.py for every knob.

BENCH_SIZES ?= all

.PHONY: bench
bench: $(STAMP) ## benchmarks: API calls, time, memory, continuations per registry size (BENCH_SIZES=small: quick)
	@cd $(ROOT) && BENCH_SIZES=$(BENCH_SIZES) $(PY) -m bench
