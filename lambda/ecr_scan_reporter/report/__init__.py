"""The exposure report: the scan ledger's records -> the report (exposure, pure) -> S3 (store). Imports core, never
another stage."""
