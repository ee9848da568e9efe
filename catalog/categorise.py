"""A category tree derived from product names, for catalogs that arrive without one.

TF-IDF of the names, k-means into a few top-level groups, and each group again into a few
sub-groups; every group is named by the terms that weigh most in its centre. Pure (no ORM), and
deterministic: the same names in the same order always give the same tree.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.cluster import KMeans
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, TfidfVectorizer
from sklearn.preprocessing import normalize

TOP_GROUPS = 16
SUB_GROUPS = 4
# A group smaller than this is not split further.
MIN_TO_SPLIT = 40
TERMS_IN_NAME = 2
# Words of three letters or more: sizes, codes and "of" say nothing about what a thing is.
WORD = r"(?u)\b[a-zA-Z]{3,}\b"
# Words that say how a thing looks or how many come, not what it is: they would make
# categories of colours.
NOT_KINDS = {
    "red", "pink", "white", "blue", "green", "black", "ivory", "cream", "gold", "silver",
    "purple", "yellow", "orange", "grey", "brown", "pastel", "small", "large", "jumbo", "mini",
    "big", "set", "assorted", "colour", "colours", "design", "vintage", "retrospot", "new",
}  # fmt: skip
# Names are clustered in a space of this many latent dimensions (LSA), where k-means finds
# groups of similar size instead of one group of everything unusual.
LATENT_DIMENSIONS = 100


@dataclass(frozen=True)
class DerivedCategory:
    top: str
    sub: str | None


def derive_categories(names: list[str], *, seed: int = 0) -> list[DerivedCategory]:
    """Each name's top-level and (in larger groups) sub-level category name; names are unique
    across the whole tree."""
    if not names:
        return []
    vectoriser = TfidfVectorizer(
        stop_words=sorted(ENGLISH_STOP_WORDS | NOT_KINDS), token_pattern=WORD
    )
    try:
        matrix = vectoriser.fit_transform(names)
    except ValueError:  # no usable word at all
        return [DerivedCategory("Other", None) for _ in names]
    terms = np.asarray(vectoriser.get_feature_names_out())
    top = _clusters(matrix, min(TOP_GROUPS, len(names)), seed)
    taken: set[str] = set()
    top_names = {
        label: _unique(_label(matrix[top == label], terms, avoid=()), taken)
        for label in np.unique(top)
    }
    result: list[DerivedCategory | None] = [None] * len(names)
    for label, top_name in top_names.items():
        members = np.flatnonzero(top == label)
        if len(members) < MIN_TO_SPLIT:
            for i in members:
                result[i] = DerivedCategory(top_name, None)
            continue
        sub = _clusters(matrix[members], SUB_GROUPS, seed)
        avoid = tuple(top_name.lower().split(" & "))
        for sub_label in np.unique(sub):
            in_sub = members[sub == sub_label]
            sub_name = _unique(_label(matrix[in_sub], terms, avoid=avoid), taken)
            for i in in_sub:
                result[i] = DerivedCategory(top_name, sub_name)
    return [category for category in result if category is not None]


def _clusters(matrix: object, k: int, seed: int) -> np.ndarray:
    rows, columns = matrix.shape  # type: ignore[attr-defined]
    dimensions = min(LATENT_DIMENSIONS, columns - 1, rows - 1)
    if dimensions >= 2:
        # (A degenerate input has no variance to explain: that ratio is not used here.)
        with np.errstate(invalid="ignore", divide="ignore"):
            latent = TruncatedSVD(dimensions, random_state=seed).fit_transform(matrix)
        points = normalize(latent)
    else:
        points = matrix.toarray()  # type: ignore[attr-defined]
    # Never more groups than different names.
    k = max(1, min(k, len(np.unique(points.round(9), axis=0))))
    labels: np.ndarray = KMeans(n_clusters=k, random_state=seed, n_init=4).fit_predict(points)
    return labels


def _label(rows: object, terms: np.ndarray, *, avoid: tuple[str, ...]) -> str:
    weights = np.asarray(rows.sum(axis=0)).ravel()  # type: ignore[attr-defined]
    best = [str(terms[i]) for i in np.argsort(-weights, kind="stable") if weights[i] > 0]
    chosen = [term for term in best if term not in avoid][:TERMS_IN_NAME] or best[:1] or ["other"]
    return " & ".join(term.capitalize() for term in chosen)


def _unique(name: str, taken: set[str]) -> str:
    candidate, n = name, 2
    while candidate in taken:
        candidate, n = f"{name} {n}", n + 1
    taken.add(candidate)
    return candidate
