"""The keys of the ledger table's items that are not image records: every such item's ``pk`` starts with
:data:`CONFIG_PREFIX` (configuration the module stores: ``config#suppressions``, ``config#teams``, see
``core/config_items.py``; the sweep markers: :data:`SWEEP_MARKERS`). Every reader of image records skips them."""

from __future__ import annotations

CONFIG_PREFIX = "config#"
#: Partition of the sweep markers: one item per repository (range key ``<registry_id>#<repository>``) whose
#: ``complete_at`` is the start of the last part of the last sweep that went through the whole repository.
SWEEP_MARKERS = "config#sweep"
