# Your own Terraform root on the local emulators (moto + ministack on 127.0.0.1), no AWS account, your files
# untouched (tests/local_root.py copies the root to .build/local/<name>/ with the emulators' credentials and
# endpoints). ROOT_DIR: the root's directory (relative to where make runs, or absolute).
#   make local-plan  ROOT_DIR=../my-root   start the emulators, terraform init + plan, stop them
#   make local-apply ROOT_DIR=../my-root   start them, init + apply; they keep running until local-down
#   make local-down  ROOT_DIR=../my-root   destroy what local-apply created, stop the emulators

LOCAL_ROOT = $(if $(ROOT_DIR),$(abspath $(ROOT_DIR)),$(error ROOT_DIR=<your root's directory> is required))

.PHONY: local-plan local-apply local-down
local-plan: $(STAMP) tf-rc ## plan your own root on the emulators: ROOT_DIR=../my-root (your files untouched)
	@$(TF_ENV) $(PY) $(ROOT)/tests/local_root.py plan --root $(LOCAL_ROOT)

local-apply: $(STAMP) tf-rc ## apply your own root on the emulators (left running): ROOT_DIR=../my-root
	@$(TF_ENV) $(PY) $(ROOT)/tests/local_root.py apply --root $(LOCAL_ROOT)

local-down: $(STAMP) tf-rc ## destroy what local-apply created and stop the emulators: ROOT_DIR=../my-root
	@$(TF_ENV) $(PY) $(ROOT)/tests/local_root.py down --root $(LOCAL_ROOT)
