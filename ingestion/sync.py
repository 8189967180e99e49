"""Incremental sync of one source into the catalog and the index.

For each source the runner lists everything, skips what has not changed (by the listing's
version, then by content hash), normalizes, chunks and indexes what has, removes what the source
no longer lists, and stores a report. A record that fails is reported and the run goes on.
Nothing is removed on the word of a listing that lists nothing (the run fails instead) or that
holds entries it could not tell apart (a dump line that does not parse may be any record). A
listing that misses more of the stored records than a run may remove (``max_removed_share``) is
far likelier a partial file or a broken answer than a source that withdrew them: the run fails
before it changes anything, and runs again only when allowed to remove them.

Crash safety: points are written under ids derived from chunk ids, so writing a record twice
replaces rather than duplicates. Before a stored record's points are rewritten or removed, its
catalog row is marked unsettled (no version, no hash): if the run dies before the row is saved
again, the next run sees the record as changed and writes it again from its source, whatever
the source then says. A record's catalog row is committed only after its points are in the
index and its stale points are gone; documents left in the index without a catalog row (a crash
between the two steps, then a removal) are deleted at the end of every run.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence

from ingestion.catalog import Catalog, KnownRecord, RecordFailure, StoredRecord, SyncReport
from ingestion.chunking import chunk_item
from ingestion.connectors.base import Connector, ItemRef
from ingestion.errors import ConnectorError, RecordError
from ingestion.indexing import IndexPointBuilder
from ingestion.jurisdiction import in_jurisdiction
from ingestion.models import KnowledgeItem, Procedure, SourceRecord, utc_now
from search.index.protocol import HybridIndex

logger = logging.getLogger(__name__)

ProgressCallback = Callable[[int, int], None]

# When two sources give the same document, the higher priority keeps it. The portal's API is the
# most complete, then the crawl dump; the Excel exports are only stubs.
DEFAULT_SOURCE_PRIORITY = {"dvcqg-api": 30, "dvcqg-dump": 20, "portal-excel": 10}
ALWAYS_REMOVABLE = 5
"""A run may always remove this many of a source's records, whatever their share."""


class SyncRunner:
    """Runs syncs against one catalog and one index.

    Args:
        catalog: Where records and run reports are stored.
        index: Where chunks are indexed.
        point_builder: Turns chunks into index points.
        agency_code: The province or agency whose procedures are kept besides the national ones;
            None keeps every procedure.
        source_priority: Which source wins when two give the same document.
        batch_size: Records normalized, embedded and written together.
        max_removed_share: The largest share of a source's stored records that one run may
            remove because its listing no longer has them (beyond ``ALWAYS_REMOVABLE``); 1.0
            allows any.
    """

    def __init__(
        self,
        *,
        catalog: Catalog,
        index: HybridIndex,
        point_builder: IndexPointBuilder,
        agency_code: str | None = None,
        source_priority: dict[str, int] | None = None,
        batch_size: int = 64,
        max_removed_share: float = 1.0,
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        if not 0.0 <= max_removed_share <= 1.0:
            raise ValueError(f"max_removed_share must be within 0 and 1, got {max_removed_share}")
        self.max_removed_share = max_removed_share
        self.catalog = catalog
        self.index = index
        self.point_builder = point_builder
        self.agency_code = agency_code
        self.source_priority = source_priority or DEFAULT_SOURCE_PRIORITY
        self.batch_size = batch_size

    def sync(self, connector: Connector, *, progress: ProgressCallback | None = None) -> SyncReport:
        """Bring the index and catalog in line with one source; the report is also stored."""
        started = time.perf_counter()
        report = SyncReport(source=connector.name)
        report.run_id = self.catalog.start_run(connector.name, report.started_at)
        try:
            self._sync(connector, report, progress)
            report.status = "completed"
        except ConnectorError as exc:
            report.status = "failed"
            report.error = exc.detail
            logger.warning("sync of %s failed: %s", connector.name, exc.detail)
        except (KeyboardInterrupt, SystemExit) as exc:  # Ctrl-C, or SIGTERM in the CLI
            report.status = "interrupted"
            report.error = f"stopped by {type(exc).__name__} before the run finished"
            logger.warning("sync of %s %s", connector.name, report.error)
            raise
        except BaseException as exc:
            report.status = "failed"
            report.error = f"{type(exc).__name__}: {exc}"
            logger.exception("sync of %s crashed", connector.name)
            raise
        finally:
            report.finished_at = utc_now()
            report.duration_s = round(time.perf_counter() - started, 3)
            self.index.flush()
            self.catalog.finish_run(report)
        logger.info(
            "sync of %s: %s added, %s updated, %s unchanged, %s removed, %s failed in %.1f s",
            connector.name,
            report.added,
            report.updated,
            report.unchanged,
            report.removed,
            report.failed,
            report.duration_s,
        )
        return report

    def _sync(
        self, connector: Connector, report: SyncReport, progress: ProgressCallback | None
    ) -> None:
        refs = connector.list_items()  # raises ConnectorError rather than list partially
        report.listed = len(refs)
        if self.agency_code is not None:
            self._remove_out_of_scope(connector.name, report)
        known = self.catalog.known_records(connector.name)
        if not refs and known:
            # An empty file or an empty answer is far likelier a broken source than one that
            # withdrew every record: removing them all would lose the knowledge base.
            raise ConnectorError(
                f"{connector.name} listed no records; the {len(known)} stored from it are kept "
                "(a sync never empties a source, --allow-removals included)"
            )
        listed = {ref.source_id for ref in refs}
        gone = [k for source_id, k in known.items() if source_id not in listed]
        unknown = sum(1 for ref in refs if not ref.identified)
        # Compared as fractions, not rounded: 29 of 100 is within a share of 0.29.
        too_many = len(gone) * 1_000_000 > round(self.max_removed_share * 1_000_000) * len(known)
        if len(gone) > ALWAYS_REMOVABLE and too_many and not unknown:
            raise ConnectorError(
                f"{connector.name} no longer lists {len(gone)} of the {len(known)} records "
                f"stored from it, more than the {self.max_removed_share:.0%} a run may remove; "
                "nothing was changed. If the source did withdraw them, run the sync again "
                "allowing it (hotline sync --allow-removals, or HOTLINE_SYNC_MAX_REMOVED_SHARE=1)"
            )
        unchanged_versions: dict[str, str] = {}
        pending: list[tuple[ItemRef, SourceRecord, KnowledgeItem]] = []
        for done, ref in enumerate(refs, 1):
            stored = known.get(ref.source_id)
            outcome = self._prepare(connector, ref, stored, report)
            if outcome is None:
                unchanged_versions[ref.source_id] = ref.version
            elif outcome is not False:
                pending.append(outcome)
            if len(pending) >= self.batch_size:
                self._write(connector.name, pending, known, report)
                pending = []
            if progress is not None:
                # Count a record when it is settled: skipped, failed, or written with its
                # batch. Counting it when read made the bar race ahead, then stall while the
                # batch was embedded.
                progress(done - len(pending), len(refs))
        self._write(connector.name, pending, known, report)
        if progress is not None:
            progress(len(refs), len(refs))
        self.catalog.touch(connector.name, unchanged_versions, utc_now())
        if gone and unknown:
            report.kept_unlisted = len(gone)
            logger.warning(
                "%s: %s stored records are not in the listing but were kept: %s of its entries "
                "could not be read, and any of them may be one of those records",
                connector.name,
                len(gone),
                unknown,
            )
        else:
            self._remove([k.doc_id for k in gone], report)
        report.orphans_removed = self.remove_orphans()

    def _prepare(
        self,
        connector: Connector,
        ref: ItemRef,
        stored: KnownRecord | None,
        report: SyncReport,
    ) -> tuple[ItemRef, SourceRecord, KnowledgeItem] | bool | None:
        """None: unchanged. False: not to be written (failed, out of scope). Else the work."""
        if stored is not None and not connector.has_changed(ref, stored.version):
            report.unchanged += 1
            return None
        try:
            record = connector.fetch(ref)
            if stored is not None and record.content_hash == stored.content_hash:
                report.unchanged += 1
                return None
            item = connector.normalize(record)
        except (RecordError, ConnectorError) as exc:
            report.failed += 1
            report.failures.append(RecordFailure(source_id=ref.source_id, detail=exc.detail))
            logger.warning("record %s of %s failed: %s", ref.source_id, connector.name, exc.detail)
            return False
        if isinstance(item, Procedure) and not in_jurisdiction(item, self.agency_code):
            report.out_of_scope += 1
            if stored is not None:
                self._remove([stored.doc_id], report)
            return False
        return ref, record, item

    def _write(
        self,
        source: str,
        pending: Sequence[tuple[ItemRef, SourceRecord, KnowledgeItem]],
        known: dict[str, KnownRecord],
        report: SyncReport,
    ) -> None:
        if not pending:
            return
        owners = self.catalog.owners(item.doc_id for _, _, item in pending)
        mine = self.source_priority.get(source, 0)
        work = []
        for ref, record, item in pending:
            owner = owners.get(item.doc_id, source)
            if owner != source and self.source_priority.get(owner, 0) > mine:
                report.shadowed += 1
                continue
            work.append((ref, record, item))
        chunks_by_doc = {item.doc_id: chunk_item(item) for _, _, item in work}
        self.catalog.mark_unsettled(list(chunks_by_doc))
        all_chunks = [chunk for chunks in chunks_by_doc.values() for chunk in chunks]
        points = self.point_builder.build(all_chunks)
        self.index.upsert(points)
        report.chunks_written += len(points)
        report.embedded += sum(1 for p in points if p.dense is not None)
        point_ids_by_doc: dict[str, list[str]] = {}
        for point in points:
            point_ids_by_doc.setdefault(point.chunk.doc_id, []).append(point.point_id)
        now = utc_now()
        stored_records = []
        for ref, record, item in work:
            keep = point_ids_by_doc.get(item.doc_id, [])
            self.index.delete_document(item.doc_id, keep_point_ids=keep)
            if ref.source_id in known:
                report.updated += 1
            else:
                report.added += 1
            item_hash = record.content_hash
            normalized = item.model_dump(mode="json")
            normalized["content_hash"] = item_hash
            stored_records.append(
                StoredRecord(
                    doc_id=item.doc_id,
                    source=source,
                    source_id=ref.source_id,
                    kind=record.kind,
                    version=ref.version,
                    content_hash=item_hash,
                    raw=record.raw,
                    normalized=normalized,
                    point_ids=keep,
                    indexed_at=now,
                    last_seen=now,
                )
            )
        self.catalog.save_records(stored_records)

    def _remove(self, doc_ids: list[str], report: SyncReport) -> None:
        self.catalog.mark_unsettled(doc_ids)
        for doc_id in doc_ids:
            self.index.delete_document(doc_id)
        self.catalog.delete_records(doc_ids)
        report.removed += len(doc_ids)

    def _remove_out_of_scope(self, source: str, report: SyncReport) -> None:
        """Drop stored procedures the configured jurisdiction no longer covers.

        Unchanged records are not normalized again, so a change of ``agency_code`` would
        otherwise leave the previous province's procedures in the index.
        """
        gone = [
            procedure.doc_id
            for procedure in self.catalog.procedures_of(source)
            if not in_jurisdiction(procedure, self.agency_code)
        ]
        if gone:
            # Counted as removed here; the listing then counts them as out of scope.
            self._remove(gone, report)

    def remove_orphans(self) -> int:
        """Delete indexed documents that have no catalog row; return how many."""
        orphans = self.index.document_ids() - self.catalog.all_doc_ids()
        for doc_id in orphans:
            self.index.delete_document(doc_id)
        if orphans:
            logger.warning("removed %s documents indexed without a catalog row", len(orphans))
        return len(orphans)
