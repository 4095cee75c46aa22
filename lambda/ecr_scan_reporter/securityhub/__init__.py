"""The Security Hub export (``enable_security_hub_export``): an evaluated image's findings in breach -> ASFF
findings (asff, pure) -> BatchImportFindings, updated on change through the ledger (export). Imports core, never
another stage."""
