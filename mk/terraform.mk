# Terraform targets, included by the Makefile (uses its BUILD, ROOT, VENV, PY, PYTHON and STAMP).
#   make validate     terraform fmt -check, and validate the module, modules/hub and the examples
#   make tf-test      terraform test of the module and of modules/hub (offline: mocked AWS provider), README tables
#   make plan-examples plan the examples and the README's Usage snippet from an empty state (emulators, no -target)
#   make compliance   terraform-compliance gate on examples/complete planned against the local emulators,
#                     or on your own plan: make compliance PLAN=path/to/plan.json
#   make plan         plan an example with your AWS credentials (EXAMPLE=complete|multi-region|organization/hub|organization/spoke, VARS=, WORKSPACE=)
#   make docs         render the tables (README: inputs, outputs; docs/resources.md: the rest) from the .tf files
# Generated files live in .build/: the CLI config, Terraform's data directories (no .terraform/ in the source
# tree), plans and the compliance work directory.

TF_BUILD    := $(BUILD)/terraform
TF_RC       := $(BUILD)/terraform.rc
# examples/organization is two configurations, as an organization keeps them: hub/ (the security account) and
# spoke/ (every workload account, a workspace per region, reading the hub's outputs).
TF_EXAMPLES := complete multi-region organization/hub organization/spoke

# Providers come from a local filesystem mirror when there is one (no registry access): TF_PLUGIN_MIRROR=<dir>,
# else the first of these holding hashicorp/aws. Without one, plain `terraform init` from the registry, with a
# shared plugin cache so the provider is downloaded once, not once per configuration.
TF_MIRROR_DIRS := /opt/tf-plugins $(HOME)/.terraform.d/plugins /usr/share/terraform/plugins /usr/local/share/terraform/plugins
TF_MIRROR      := $(firstword $(TF_PLUGIN_MIRROR) $(foreach dir,$(TF_MIRROR_DIRS),$(if $(wildcard $(dir)/registry.terraform.io/hashicorp/aws),$(dir))))

# Set for these commands only; with a mirror this also replaces whatever TF_CLI_CONFIG_FILE the environment has.
ifneq ($(TF_MIRROR),)
TF_ENV := TF_CLI_CONFIG_FILE=$(TF_RC)
else
TF_ENV := TF_PLUGIN_CACHE_DIR=$(TF_BUILD)/plugin-cache
endif

# $(call tf,NAME,DIR): terraform in DIR with its own data directory .build/terraform/data/NAME.
tf = $(TF_ENV) TF_IN_AUTOMATION=1 TF_DATA_DIR=$(TF_BUILD)/data/$(1) terraform -chdir=$(2)
tf_dir = $(if $(filter module,$(1)),$(ROOT),$(if $(filter hub,$(1)),$(ROOT)/modules/hub,$(ROOT)/examples/$(1)))

.PHONY: tf-rc
tf-rc: ## write .build/terraform.rc: install providers from the local mirror, never the registry
ifneq ($(TF_MIRROR),)
	@mkdir -p $(BUILD)
	@printf '%s\n' \
	  '# Written by make tf-rc: providers from the local mirror $(TF_MIRROR) only.' \
	  'provider_installation {' \
	  '  filesystem_mirror {' \
	  '    path    = "$(TF_MIRROR)"' \
	  '    include = ["registry.terraform.io/hashicorp/*"]' \
	  '  }' \
	  '  direct {' \
	  '    exclude = ["registry.terraform.io/hashicorp/*"]' \
	  '  }' \
	  '}' >$(TF_RC)
else
	@mkdir -p $(TF_BUILD)/plugin-cache
	@echo "==> no local provider mirror found ($(TF_MIRROR_DIRS)); terraform init uses the registry"
endif

# tf-init-module, tf-init-hub (modules/hub), tf-init-complete, tf-init-multi-region, tf-init-organization/hub, ...
TF_INIT_TARGETS := $(addprefix tf-init-,module hub $(TF_EXAMPLES))
.PHONY: $(TF_INIT_TARGETS)
$(TF_INIT_TARGETS): tf-init-%: tf-rc
	@$(call tf,$*,$(call tf_dir,$*)) init -input=false -no-color >/dev/null

.PHONY: init
init: $(TF_INIT_TARGETS) ## terraform init the module, modules/hub and the examples (data directories under .build/)

.PHONY: validate
validate: init ## terraform fmt -check, and validate the module, modules/hub and the examples
	@$(TF_ENV) terraform fmt -check -diff $(ROOT)
	@$(TF_ENV) terraform fmt -check -diff -recursive $(ROOT)/examples $(ROOT)/tests $(ROOT)/modules
	@for name in module hub $(TF_EXAMPLES); do \
	  dir=$(ROOT)/examples/$$name; [ $$name = module ] && dir=$(ROOT); [ $$name = hub ] && dir=$(ROOT)/modules/hub; \
	  $(TF_ENV) TF_IN_AUTOMATION=1 TF_DATA_DIR=$(TF_BUILD)/data/$$name terraform -chdir=$$dir validate -no-color \
	    | sed -n "s|^Success! |$$name: |p"; \
	done

.PHONY: tf-test
tf-test: $(STAMP) tf-init-module tf-init-hub ## terraform test of the module and modules/hub (plan assertions, validations; offline) + README tables
	@$(call tf,module,$(ROOT)) test
	@$(call tf,hub,$(ROOT)/modules/hub) test
	@$(PY) -m pytest tests/terraform -q

# The plan the compliance gate checks: examples/complete on moto + ministack. The example creates its KMS key in
# the same configuration, so the key is created first (in a throwaway state) and the plan shows its ARN.
COMPLIANCE_PLAN := $(BUILD)/plan.json
COMPLIANCE      := $(VENV)/bin/terraform-compliance --no-ansi -f $(ROOT)/tests/compliance/features

.PHONY: compliance
compliance: $(STAMP) tf-rc ## terraform-compliance gate on examples/complete (emulators), or PLAN=plan.json
ifdef PLAN
	@test -f "$(PLAN)" || { echo "PLAN=$(PLAN): no such file (terraform show -json tfplan > plan.json)" >&2; exit 1; }
	@# terraform-compliance reads only the second line of a multi-line file, and rewrites it: give it a copy.
	@mkdir -p $(TF_BUILD)
	@$(PY) -c 'import json, sys; json.dump(json.load(open(sys.argv[1])), open(sys.argv[2], "w"))' "$(PLAN)" $(TF_BUILD)/compliance-input.json
	@$(COMPLIANCE) --silent -p $(TF_BUILD)/compliance-input.json
else
	@echo "==> planning examples/complete on the emulators"
	@PY=$(PY) $(TF_ENV) TF_IN_AUTOMATION=1 TF_DATA_DIR=$(TF_BUILD)/data/complete \
	  $(ROOT)/tests/compliance/plan_example.sh $(ROOT)/examples/complete $(COMPLIANCE_PLAN) $(TF_BUILD)/compliance \
	  aws_kms_key.reporter
	@echo "==> terraform-compliance on $(COMPLIANCE_PLAN)"
	@$(COMPLIANCE) --silent -p $(COMPLIANCE_PLAN)
	@echo "==> every feature can fail: the bad-plan fixtures"
	@$(PY) -m pytest tests/compliance -q
endif

# A first plan, as a user runs it: the examples and the README's Usage snippet (its source mapped to this
# checkout), from no state and with no -target, on moto + ministack (started and stopped by PID by the script).
# Their KMS keys are created in the same plan, so this is where a count depending on an unknown ARN fails.
.PHONY: plan-examples
plan-examples: $(STAMP) tf-rc ## plan the examples and the README's Usage snippet from an empty state (emulators)
	@$(TF_ENV) $(PY) tests/terraform/plan_examples.py --work $(TF_BUILD)/plan-examples

EXAMPLE ?= complete
ifneq ($(filter plan,$(MAKECMDGOALS)),)
ifeq ($(filter $(EXAMPLE),$(TF_EXAMPLES)),)
$(error EXAMPLE=$(EXAMPLE): must be one of $(TF_EXAMPLES))
endif
endif
TF_PLAN_OUT := $(TF_BUILD)/$(subst /,-,$(EXAMPLE))

.PHONY: plan
plan: tf-init-$(EXAMPLE) ## plan an example with your AWS credentials: EXAMPLE=complete|multi-region|organization/hub|organization/spoke VARS='-var ...' WORKSPACE=
	@$(if $(WORKSPACE),$(call tf,$(EXAMPLE),$(call tf_dir,$(EXAMPLE))) workspace select -or-create $(WORKSPACE))
	@$(call tf,$(EXAMPLE),$(call tf_dir,$(EXAMPLE))) plan -input=false $(VARS) -out=$(TF_PLAN_OUT).tfplan
	@$(call tf,$(EXAMPLE),$(call tf_dir,$(EXAMPLE))) show -json $(TF_PLAN_OUT).tfplan >$(TF_PLAN_OUT).plan.json
	@echo "==> $(TF_PLAN_OUT).tfplan; gate it: make compliance PLAN=$(TF_PLAN_OUT).plan.json"

.PHONY: docs
docs: ## render the tables (README: inputs, outputs; docs/resources.md: requirements, providers, resources) from the .tf files
	@$(PYTHON) tests/terraform/readme_tables.py --write
