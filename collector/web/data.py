"""The data the API and the pages show: pure functions over a Session returning plain dicts, built on the
report layer (collector.reports, collector.store.reports) so that they cannot disagree with `collector
report`. No SQL here: it lives in collector.store."""

from __future__ import annotations
