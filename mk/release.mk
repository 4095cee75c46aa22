# Release tooling, offline and without git history (a shallow clone, no tags: only main's commits are published).
#   make release-check     fail when __version__, CHANGELOG.md's newest release heading and the README's ?ref= pin
#                          disagree, or when the README's inputs table documents an input the release lacks
#                          without marking it unreleased (the release's inputs: docs/releases/<version>-inputs.txt)
#   make release-manifest  at release time, in the release commit: write docs/releases/<version>-inputs.txt from
#                          variables.tf (then make docs: the README's inputs lose their "Unreleased" marks)
# docs/releasing.md: the steps of a release and how users pin it before its tag is published.

.PHONY: release-check
release-check: $(STAMP) ## version, CHANGELOG, README pin and README inputs agree (docs/releases/); and its tests
	@$(PY) $(ROOT)/tests/release/release_check.py
	@$(PY) -m pytest $(ROOT)/tests/release -q -p no:cacheprovider

.PHONY: release-manifest
release-manifest: ## write docs/releases/<__version__>-inputs.txt from variables.tf (in the release commit)
	@$(PYTHON) $(ROOT)/tests/release/release_check.py --write-manifest
