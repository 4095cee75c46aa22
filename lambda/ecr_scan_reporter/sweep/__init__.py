"""The images stage (the sweep): read ECR (registry), decide which images need a scan (freshness, pure), start the
scans (scanning); stage.py runs it for one repository. Imports core, never another stage."""
