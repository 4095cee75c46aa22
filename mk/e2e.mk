# End-to-end suite and demo: the module deployed by Terraform on local emulators (moto for ECR, ministack for
# the rest; tests/emulators.py), driven by tests/e2e (pytest) and demo/run.py, which share the helpers in
# tests/e2e. E2E_TARGET=localstack runs the suite against a LocalStack you started yourself (see tests/e2e).
# Terraform gets mk/terraform.mk's environment (TF_ENV: the CLI configuration written by tf-rc, offline mirror).

E2E_ARGS ?=

.PHONY: e2e
e2e: $(STAMP) tf-rc ## end-to-end: deploy on local emulators, real schedule, scan events, notifications, plan, destroy
	@echo "==> e2e: tests/e2e/root applied on moto + ministack in two regions; sweep, scan events, notifications, plan, destroy"
	@$(TF_ENV) $(PY) -m pytest tests/e2e -m e2e -q -p no:cacheprovider $(E2E_ARGS)

.PHONY: demo
demo: $(STAMP) tf-rc ## deploy to local emulators, run one sweep, show the notifications, tear down (~3 min)
	@$(TF_ENV) $(PY) demo/run.py --workdir $(BUILD)/demo
