"""Stable theme identity: matching a new clustering to the previous themes."""

import numpy as np

from analysis.identity import match_themes


def unit(*rows):
    matrix = np.array(rows, dtype=np.float32)
    return matrix / np.linalg.norm(matrix, axis=1, keepdims=True)


def test_same_clustering_keeps_every_id():
    previous = {"a": 7, "b": 7, "c": 9, "d": 9}
    match = match_themes(previous, {}, ["a", "b", "c", "d"], np.array([1, 1, 0, 0]), unit([1, 0], [0, 1]))
    assert match.inherited == [9, 7]
    assert match.retired == {}
    assert match.changes["new"] == [] and match.changes["gone"] == []


def test_new_merged_split_and_gone_are_reported():
    previous = {"a": 1, "b": 1, "c": 1, "d": 2, "e": 2, "f": 3, "g": 3, "h": 4, "i": 4, "k": 5}
    ids = list("abcdefghijk")
    # k (theme 5) now unthemed -> 5 gone; 2 and 3 merge; 4 splits; j is new
    labels = np.array([0, 0, 0, 1, 1, 1, 1, 2, 3, 4, -1])
    match = match_themes(previous, {}, ids, labels, np.eye(5, dtype=np.float32))
    assert match.inherited[0] == 1
    assert match.inherited[1] in (2, 3)
    merged_away = {2, 3} - {match.inherited[1]}
    assert match.retired[merged_away.pop()] == 1
    assert match.changes["merged"] == [{"into": "#1", "from": sorted({2, 3} - {match.inherited[1]})}]
    assert match.changes["split"][0]["from"] == 4 and set(match.changes["split"][0]["into"]) == {"#2", "#3"}
    assert match.changes["new"] == ["#4"]
    assert match.changes["gone"] == [5]


def test_erased_members_fall_back_to_centroid_match():
    # every member of theme 3 was erased; a new cluster near its old centroid inherits the id
    previous = {"gone1": 3, "gone2": 3}
    centroids = unit([1, 0.05], [0, 1])
    match = match_themes(previous, {3: unit([1, 0])[0]}, ["x", "y"], np.array([0, 1]), centroids)
    assert match.inherited[0] == 3
    assert match.inherited[1] is None


def test_first_analysis_has_only_new_themes():
    match = match_themes({}, {}, ["a", "b"], np.array([0, 1]), np.eye(2, dtype=np.float32))
    assert match.inherited == [None, None]
    assert match.changes["new"] == ["#0", "#1"]
