"""Stable theme identity across re-analyses.

A new clustering is matched to the themes of the previous analysis by
membership (the testimonies both runs saw) and, where membership cannot tell
(the old members were erased), by centroid. A matched theme keeps its id, its
staff label and its curation; the rest is reported as new, merged, split or
gone.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np


@dataclass
class IdentityMatch:
    """The outcome of matching new clusters to previous themes.

    ``inherited[i]`` is the previous theme id new cluster ``i`` keeps (or
    None: a new id). ``retired`` maps previous ids that did not persist to the
    new cluster index they merged into (None: gone). ``changes`` is the report
    shown to staff, with new clusters written ``"#i"``.
    """

    inherited: list[int | None]
    retired: dict[int, int | None]
    changes: dict = field(default_factory=dict)


def match_themes(
    previous: Mapping[str, int],
    previous_centroids: Mapping[int, np.ndarray],
    testimony_ids: Sequence[str],
    labels: np.ndarray,
    centroids: np.ndarray,
    *,
    min_jaccard: float = 0.2,
    min_share: float = 0.25,
    min_centroid_similarity: float = 0.9,
) -> IdentityMatch:
    """Match new clusters (``labels`` over ``testimony_ids``, -1 unthemed) to previous themes.

    ``previous`` maps testimony id to its previous theme id. Pairs are matched
    greedily by Jaccard overlap of members, best first; a previous theme with
    no surviving members can still be matched by centroid cosine.
    """
    n_new = int(centroids.shape[0])
    old_ids = sorted(set(previous.values()) | set(previous_centroids))
    position = {tid: i for i, tid in enumerate(testimony_ids)}
    overlap = np.zeros((len(old_ids), n_new), dtype=np.int64)
    old_size = np.zeros(len(old_ids), dtype=np.int64)
    old_index = {t: i for i, t in enumerate(old_ids)}
    for testimony_id, theme_id in previous.items():
        row = position.get(testimony_id)
        if row is None:
            continue  # erased since: it no longer counts for either side
        old_size[old_index[theme_id]] += 1
        if labels[row] >= 0:
            overlap[old_index[theme_id], labels[row]] += 1
    new_size = np.bincount(labels[labels >= 0], minlength=n_new) if n_new else np.zeros(0, dtype=np.int64)
    union = old_size[:, None] + new_size[None, :] - overlap
    jaccard = np.divide(overlap, union, out=np.zeros(overlap.shape, dtype=float), where=union > 0)

    inherited: list[int | None] = [None] * n_new
    taken_old: set[int] = set()
    for o, c in sorted(np.argwhere(jaccard >= min_jaccard).tolist(), key=lambda p: -jaccard[p[0], p[1]]):
        if old_ids[o] in taken_old or inherited[c] is not None:
            continue
        inherited[c] = old_ids[o]
        taken_old.add(old_ids[o])
    _match_by_centroid(old_ids, old_size, previous_centroids, centroids, inherited, taken_old, min_centroid_similarity)

    share_old = np.divide(overlap, old_size[:, None], out=np.zeros(overlap.shape, dtype=float), where=old_size[:, None] > 0)
    retired: dict[int, int | None] = {}
    for o, theme_id in enumerate(old_ids):
        if theme_id not in taken_old:
            has_target = n_new and share_old[o].max() >= min_share
            retired[theme_id] = int(np.argmax(share_old[o])) if has_target else None
    changes = change_report(previous, testimony_ids, labels, inherited, retired, min_share)
    return IdentityMatch(inherited=inherited, retired=retired, changes=changes)


def change_report(
    previous: Mapping[str, int],
    testimony_ids: Sequence[str],
    labels: np.ndarray,
    inherited: Sequence[int | None],
    retired: Mapping[int, int | None],
    min_share: float = 0.25,
) -> dict:
    """What changed between the previous themes and a clustering; new clusters are written ``"#i"``.

    A cluster with no inherited id is ``split`` off the previous theme that
    gave it at least ``min_share`` of its members when that theme lives on in
    another cluster, and ``new`` otherwise. A previous theme that did not
    persist is ``merged`` when ``retired`` names the cluster it went into,
    ``gone`` otherwise.
    """
    sources: dict[int, Counter] = {}
    for row, testimony_id in enumerate(testimony_ids):
        if labels[row] >= 0 and testimony_id in previous:
            sources.setdefault(int(labels[row]), Counter())[previous[testimony_id]] += 1
    new, split = [], {}
    for c, was in enumerate(inherited):
        if was is not None:
            continue
        size = int((labels == c).sum())
        origin = sources.get(c, Counter()).most_common(1)
        if origin and origin[0][1] >= min_share * size and origin[0][0] in inherited:
            split.setdefault(origin[0][0], [f"#{list(inherited).index(origin[0][0])}"]).append(f"#{c}")
        else:
            new.append(f"#{c}")
    merged: dict[int, list[int]] = {}
    for old, into in retired.items():
        if into is not None:
            merged.setdefault(into, []).append(old)
    return {
        "persisted": [{"theme": f"#{c}", "was": was} for c, was in enumerate(inherited) if was is not None],
        "new": new,
        "merged": [{"into": f"#{c}", "from": sorted(olds)} for c, olds in sorted(merged.items())],
        "split": [{"from": old, "into": sorted(parts)} for old, parts in sorted(split.items())],
        "gone": sorted(old for old, into in retired.items() if into is None),
    }


def _match_by_centroid(old_ids, old_size, previous_centroids, centroids, inherited, taken_old, threshold) -> None:
    """Match previous themes with no surviving members to free new clusters by centroid cosine."""
    for o, theme_id in enumerate(old_ids):
        if theme_id in taken_old or old_size[o] > 0 or theme_id not in previous_centroids or not len(centroids):
            continue
        similarities = centroids @ np.asarray(previous_centroids[theme_id], dtype=np.float32)
        for c in np.argsort(-similarities):
            if similarities[c] < threshold:
                break
            if inherited[c] is None:
                inherited[c] = theme_id
                taken_old.add(theme_id)
                break
