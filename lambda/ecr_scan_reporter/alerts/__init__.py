"""The findings stage (the alerts): parse the scan event (events), read the image's findings, apply suppressions,
compare with the thresholds and the ledger (news, pure), render (notify) and publish; stage.py runs it for one
scan result. Imports core, never another stage."""
