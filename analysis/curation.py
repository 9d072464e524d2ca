"""Staff curation of themes, applied now and re-applied after every analysis.

Rename keeps a staff label (``ThemeStore.rename``). Merge folds one theme into
another; split divides a theme in two by k-means on its members. Both are
stored as rules with the centroids involved, and ``apply_rules`` re-applies
them to each new clustering, so curation survives re-analysis. Pins and
hidden quotes live by testimony id and need no re-application.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from corpus.curation import CurationStore
from corpus.errors import NotFound

from analysis.counting import person_of
from analysis.evidence import EvidenceBase
from analysis.keywords import KeywordExtractor
from analysis.text import TextProcessor

MERGE_MATCH = 0.85


@dataclass
class Clustering:
    """A clustering in progress: labels per row, centroids, inherited theme ids, retired ids."""

    labels: np.ndarray
    centroids: np.ndarray
    inherited: list[int | None]
    retired: dict[int, int | None]


def _normalise(vector: np.ndarray) -> np.ndarray:
    norm = float(np.linalg.norm(vector))
    return (vector / norm).astype(np.float32) if norm else vector.astype(np.float32)


def _centroid(vectors: np.ndarray, mask: np.ndarray) -> np.ndarray:
    return _normalise(vectors[mask].mean(axis=0))


def apply_rules(curation: CurationStore, clustering: Clustering, vectors: np.ndarray) -> Clustering:
    """Re-apply every stored merge and split to a fresh clustering."""
    for rule in curation.rules():
        if rule.kind == "merge":
            _apply_merge(rule, clustering, vectors)
        elif rule.kind == "split":
            _apply_split(rule, clustering, vectors)
    return clustering


def _cluster_of(clustering: Clustering, theme_id: int) -> int | None:
    return clustering.inherited.index(theme_id) if theme_id in clustering.inherited else None


def _apply_merge(rule, clustering: Clustering, vectors: np.ndarray) -> None:
    target = _cluster_of(clustering, rule.theme_id)
    if target is None:
        return
    stored = rule.centroid_matrix()
    for other_id, centre in zip(rule.other_ids, stored):
        source = _cluster_of(clustering, other_id)
        if source is None:
            free = [c for c, was in enumerate(clustering.inherited) if was is None and c != target]
            if not free:
                continue
            similarities = clustering.centroids[free] @ centre
            best = int(np.argmax(similarities))
            if similarities[best] < MERGE_MATCH:
                continue
            source = free[best]
        _fold(clustering, source, target, vectors)
        clustering.retired.pop(other_id, None)


def _fold(clustering: Clustering, source: int, target: int, vectors: np.ndarray) -> None:
    """Move cluster ``source`` into ``target`` and drop it, renumbering the clusters after it."""
    labels = clustering.labels
    labels[labels == source] = target
    labels[labels > source] -= 1
    keep = [c for c in range(len(clustering.inherited)) if c != source]
    clustering.centroids = clustering.centroids[keep]
    clustering.inherited = [clustering.inherited[c] for c in keep]
    for old, into in list(clustering.retired.items()):
        if into == source:
            clustering.retired[old] = target - (1 if target > source else 0)
        elif into is not None and into > source:
            clustering.retired[old] = into - 1
    new_target = target - (1 if target > source else 0)
    clustering.centroids[new_target] = _centroid(vectors, labels == new_target)


def _apply_split(rule, clustering: Clustering, vectors: np.ndarray) -> None:
    parent = _cluster_of(clustering, rule.theme_id)
    child_ids = [c for c in rule.other_ids if _cluster_of(clustering, c) is None]
    if parent is None or not child_ids:
        return
    stored = rule.centroid_matrix()  # row 0: the parent's part, then one row per child
    members = np.flatnonzero(clustering.labels == parent)
    if len(members) < 2 or len(stored) < 2:
        return
    nearest = np.argmax(vectors[members] @ stored.T, axis=1)
    for part, child_id in enumerate(rule.other_ids, start=1):
        if child_id not in child_ids:
            continue
        moving = members[nearest == part]
        if len(moving) == 0 or len(moving) == len(members):
            continue
        new_index = len(clustering.inherited)
        clustering.labels[moving] = new_index
        clustering.inherited.append(child_id)
        clustering.retired.pop(child_id, None)
        clustering.centroids = np.vstack([clustering.centroids, _centroid(vectors, clustering.labels == new_index)])
    clustering.centroids[parent] = _centroid(vectors, clustering.labels == parent)


class Curator:
    """What analysts do to themes: rename, merge, split, pin and hide quotes."""

    def __init__(self, evidence: EvidenceBase) -> None:
        self.evidence = evidence
        self.store = evidence.stores.curation

    def rename(self, theme_id: int, label: str):
        """Give a theme a staff label that re-analysis keeps."""
        return self.evidence.themes.rename(theme_id, label)

    def merge(self, target_id: int, other_id: int, staff: str | None = None) -> dict:
        """Fold theme ``other_id`` into ``target_id`` now and after every later analysis."""
        if target_id == other_id:
            raise ValueError("a theme cannot be merged into itself")
        themes = self.evidence.themes
        target, other = themes.theme(target_id), themes.theme(other_id)
        for theme in (target, other):
            if theme.status != "active":
                raise NotFound(f"theme {theme.id} is {theme.status}, not active")
        other_centroid = np.frombuffer(other.centroid, dtype=np.float32)
        moved = themes.reassign(other_id, target_id)
        themes.set_centroid(target_id, self._centroid_of(target_id))
        themes.retire(other_id, merged_into=target_id)
        self.store.add_rule("merge", target_id, [other_id], other_centroid[None, :], staff)
        return {"theme": target_id, "merged": other_id, "moved": moved}

    def split(self, theme_id: int, staff: str | None = None, random_state: int = 0) -> dict:
        """Divide a theme in two by k-means on its members; the larger part keeps the id."""
        from sklearn.cluster import KMeans

        themes = self.evidence.themes
        theme = themes.theme(theme_id)
        if theme.status != "active":
            raise NotFound(f"theme {theme_id} is {theme.status}, not active")
        members = themes.members(theme_id)
        if len(members) < 4:
            raise ValueError(f"theme {theme_id} has {len(members)} members: too few to split")
        records = self.evidence.store.records([m.testimony_id for m in members])
        vectors = self.evidence.embedder.encode([r.text for r in records])
        parts = KMeans(n_clusters=2, n_init=10, random_state=random_state).fit_predict(vectors)
        keep = int(np.argmax(np.bincount(parts)))
        moving = [r.id for r, p in zip(records, parts) if p != keep]
        centroids = np.stack([_centroid(vectors, parts == keep), _centroid(vectors, parts != keep)])
        label = self._label_for([r for r, p in zip(records, parts) if p != keep], fallback=f"{theme.label} (part 2)")
        child = themes.create_child(theme, label, centroids[1], moving)
        themes.set_centroid(theme_id, centroids[0])
        self.store.add_rule("split", theme_id, [child.id], centroids, staff)
        return {"theme": theme_id, "new_theme": child.id, "moved": len(moving), "kept": len(records) - len(moving)}

    def pin(self, theme_id: int, testimony_ref: str, staff: str | None = None) -> str:
        """Pin a member quote (id or its first 8 characters) so it is always shown first."""
        testimony_id = self.resolve_member(theme_id, testimony_ref)
        record = self.evidence.store.records([testimony_id])[0]
        if not record.quotable:
            raise ValueError("this testimony has aggregate consent: it can be counted but never quoted")
        self.store.pin(theme_id, testimony_id, staff)
        return testimony_id

    def hide(self, testimony_ref: str, reason: str, staff: str | None = None) -> str:
        """Never quote this testimony again (it still counts in every number)."""
        testimony_id = self.evidence.store.resolve_id(testimony_ref)
        self.store.hide(testimony_id, reason, staff)
        return testimony_id

    def resolve_member(self, theme_id: int, testimony_ref: str) -> str:
        """The full id of a member of ``theme_id`` given its id or short id."""
        testimony_id = self.evidence.store.resolve_id(testimony_ref)
        if testimony_id not in {m.testimony_id for m in self.evidence.themes.members(theme_id)}:
            raise NotFound(f"testimony {testimony_ref} is not in theme {theme_id}")
        return testimony_id

    def _centroid_of(self, theme_id: int) -> np.ndarray:
        members = self.evidence.themes.members(theme_id)
        records = self.evidence.store.records([m.testimony_id for m in members])
        vectors = self.evidence.embedder.encode([r.text for r in records])
        return _normalise(vectors.mean(axis=0))

    def _label_for(self, records, fallback: str) -> str:
        tokens = TextProcessor().tokens_many([r.text for r in records], [r.language for r in records])
        if not any(tokens):
            return fallback
        extractor = KeywordExtractor(min_df=1, min_contributors=self.evidence.settings.small_cell)
        extractor.fit(tokens, [0] * len(tokens), contributors=[person_of(r) for r in records])
        return extractor.labels_text_.get(0) or fallback
