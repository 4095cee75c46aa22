"""The keys of the ledger table's items that are not image records: every such item's ``pk`` starts with
:data:`CONFIG_PREFIX` (configuration the module stores: ``config#suppressions``, ``config#teams``, see
``core/config_items.py``; the sweep markers: :data:`SWEEP_MARKERS`). Every reader of image records skips them."""

from __future__ import annotations

CONFIG_PREFIX = "config#"
#: Partition of the sweep markers: one item per repository (range key ``<registry_id>#<repository>``) whose
#: ``complete_at`` is the start of the last part of the last sweep that went through the whole repository.
SWEEP_MARKERS = "config#sweep"
#: Partition of the scan budget's plan: its allowances in chunk items (range key ``chunk#NNNN``), each with ``plan``
#: (the id of the plan that wrote it) and ``allowances`` (JSON: marker key -> allowance); see ``budget_plan.py``.
PLAN_PARTITION = "config#plan"
