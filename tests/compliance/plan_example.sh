#!/usr/bin/env bash
# Plan an example on the local emulators (moto + ministack) and write the plan as JSON for the compliance gate.
#
#   tests/compliance/plan_example.sh EXAMPLE_DIR OUT_JSON WORK_DIR [TARGET...]
#
# TARGETs are created first (apply -target) in a throwaway state under WORK_DIR, so the plan shows their
# attributes instead of "(known after apply)": examples/complete creates its KMS key, and the encryption and IAM
# checks need to see that key's ARN. Nothing is written to the example directory but its lock file.
# Environment: PY, a python with moto and ministack (default python3); terraform's own variables
# (TF_CLI_CONFIG_FILE, TF_DATA_DIR, ...) pass through. The emulators are stopped by PID whatever happens.
set -euo pipefail

example=$1 out=$2 work=$3
shift 3
root=$(cd "$(dirname "$0")/../.." && pwd)
py=${PY:-python3}
emulators="$work/emulators"

run() { # run LOG COMMAND...: quiet unless it fails, then show the end of its log
  local log=$1
  shift
  if ! "$@" >"$log" 2>&1; then
    echo "failed: $* (log: $log)" >&2
    tail -n 40 "$log" >&2
    return 1
  fi
}

"$py" "$root/tests/emulators.py" stop --dir "$emulators" >/dev/null 2>&1 || true # a crashed run's, if any
rm -rf "$work"
mkdir -p "$work"
run "$work/emulators.log" "$py" "$root/tests/emulators.py" start --dir "$emulators"
trap '"$py" "$root/tests/emulators.py" stop --dir "$emulators" >/dev/null 2>&1' EXIT
# shellcheck source=/dev/null
source "$emulators/env"

tf() { terraform -chdir="$example" "$@"; }
run "$work/init.log" tf init -input=false -no-color
if (($# > 0)); then
  targets=()
  for target in "$@"; do targets+=("-target=$target"); done
  run "$work/apply-targets.log" tf apply -input=false -no-color -auto-approve -state="$work/terraform.tfstate" "${targets[@]}"
fi
run "$work/plan.log" tf plan -input=false -no-color -state="$work/terraform.tfstate" -out="$work/plan.tfplan"
tf show -json "$work/plan.tfplan" >"$out"
grep -E '^Plan:' "$work/plan.log" | sed "s|^|$example: |" || true
