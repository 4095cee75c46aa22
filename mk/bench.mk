# make bench: sweep registries of growing size in moto (in-process) and check the scale targets, then the
# exposure report over ledgers of 1,000 to 100,000 images (bench/report.py), the findings stage with 50 teams
# and 1,000 repositories (bench/teams.py), the scan budget's simulated month (bench/month.py; `make bench-month`
# alone), then the scan budget's plan at 100,000 repositories (bench/plan_scale.py; `make bench-plan` alone).
# Not part of `make test`.
# Quick mode: make bench BENCH_SIZES=small. See bench/run.py and bench/report.py for every knob.

BENCH_SIZES ?= all

.PHONY: bench
bench: $(STAMP) ## benchmarks: sweep (API calls, time, memory, continuations) and the exposure report (BENCH_SIZES=small: quick)
	@cd $(ROOT) && status=0; BENCH_SIZES=$(BENCH_SIZES) $(PY) -m bench || status=$$?; \
	  BENCH_SIZES=$(BENCH_SIZES) $(PY) -m bench.report || status=$$?; \
	  $(PY) -m bench.teams || status=$$?; \
	  BENCH_MONTH_QUICK=$(if $(filter small,$(BENCH_SIZES)),1,) $(PY) -m bench.month || status=$$?; \
	  BENCH_PLAN_REPOSITORIES=$(if $(filter small,$(BENCH_SIZES)),10000,100000) $(PY) -m bench.plan_scale || status=$$?; \
	  exit $$status

.PHONY: bench-plan
bench-plan: $(STAMP) ## the scan budget's plan: the repositories function at 100,000 repositories (calls, time, memory)
	@cd $(ROOT) && $(PY) -m bench.plan_scale

.PHONY: bench-month
bench-month: $(STAMP) ## the scan budget's simulated month: today's sweep vs the budget (BENCH_MONTH_QUICK=1: quick)
	@cd $(ROOT) && $(PY) -m bench.month
