# make security: checkov, an independent static security scan, on the module root (recursively: the module as the
# examples and the e2e root call it) and on each example: no failed check. A check the module's default
# deliberately does not satisfy is skipped in the code, next to the resource, with the reason
# (`#checkov:skip=<id>:<reason>`); docs/security.md lists them.
# checkov has its own virtualenv under .build/ (its pins would fight the dev tools'), created from a pinned version.

CHECKOV_VERSION := 3.3.30
CHECKOV_VENV    := $(BUILD)/checkov
CHECKOV_STAMP   := $(CHECKOV_VENV)/.installed-$(CHECKOV_VERSION)
CHECKOV_DIRS    := . examples/complete examples/multi-region
# Offline and quiet: no download of policy metadata, only failed checks, generated directories left out.
CHECKOV         := $(CHECKOV_VENV)/bin/checkov --framework terraform --skip-download --quiet --compact \
                   --skip-path .build --skip-path .venv

$(CHECKOV_STAMP):
	@echo "==> creating $(CHECKOV_VENV) with checkov $(CHECKOV_VERSION)"
	@rm -rf $(CHECKOV_VENV)
	@$(PYTHON) -m venv $(CHECKOV_VENV)
	@$(CHECKOV_VENV)/bin/python -m pip install --quiet checkov==$(CHECKOV_VERSION) 2> >(grep -v "$(PIP_NOISE)" >&2)
	@touch $@

.PHONY: security
security: $(CHECKOV_STAMP) ## checkov on the module and both examples: no failed check without a reasoned skip
	@for dir in $(CHECKOV_DIRS); do \
	  echo "==> checkov $$dir"; \
	  (cd $(ROOT)/$$dir && $(CHECKOV) -d .) || exit 1; \
	done
