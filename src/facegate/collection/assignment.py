"""Subjects given to a photo's faces under constraints: the subjects rejections take from a face
(facegate.collection.rejections), and one subject per photo at most (decisions.md D67).

Without either, recognition is the plain search. With them, each face's answer is the search's
with the subjects it may not have left out, looked up further where they took places, so a face
that loses a subject gets its next candidate or none.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
from scipy.optimize import linear_sum_assignment

from facegate.collection.rejections import Rejections, refused
from facegate.collection.search import Match, Search
from facegate.db.tables import Service
from facegate.engine.similarity import Scale, normalize, recognised

# Growth of the search while a face's excluded subjects fill its places (examples, not subjects:
# one subject may hold many).
GROWTH = 4


def recognise(
    search: Search,
    service: Service,
    queries: npt.ArrayLike,
    *,
    k: int,
    per_subject: bool,
    min_similarity: float | None,
    rejections: Rejections,
    unique: bool,
    scale: Scale,
) -> list[list[Match]]:
    """`Search.search` of these embeddings (one photo's faces), less the subjects rejections
    take from each face, and with `unique` each subject given to one face at most: the faces
    that recognition would give it share it out by the best total similarity."""
    rows = normalize(np.atleast_2d(np.asarray(queries, dtype=np.float32)))
    unique = unique and len(rows) > 1
    if not rejections and not unique:
        return search.search(
            service, rows, k=k, per_subject=per_subject, min_similarity=min_similarity
        )
    excluded = refused(search, service, rows, rejections, scale=scale)
    if unique:
        # Each face's n best subjects: n - 1 other faces can take n - 1 of them at most, so an
        # optimal assignment never needs a face's (n + 1)-th.
        wanted = len(rows) + max(len(subjects) for subjects in excluded)
        candidates = search.search(
            service, rows, k=wanted, per_subject=True, min_similarity=min_similarity
        )
        given = assign(
            [
                [m for m in found if m.subject not in subjects]
                for found, subjects in zip(candidates, excluded, strict=True)
            ],
            threshold=min_similarity,
        )
        for face, subjects in enumerate(excluded):
            subjects |= {name for other, name in enumerate(given) if other != face and name}
    return search_excluding(
        search,
        service,
        rows,
        excluded,
        k=k,
        per_subject=per_subject,
        min_similarity=min_similarity,
    )


def assign(candidates: Sequence[Sequence[Match]], *, threshold: float | None) -> list[str | None]:
    """The subject each face gets when no subject goes to two faces: the assignment of the
    largest total similarity over the recognised matches (`recognised`: at or over
    `threshold`); None for a face that gets none."""
    subjects = sorted({m.subject for found in candidates for m in found})
    column = {name: j for j, name in enumerate(subjects)}
    faces = len(candidates)
    # One "no one" column per face, worth 0: a face is given no subject rather than one it
    # does not match; a pair that is not recognised is worse than that.
    gains = np.full((faces, len(subjects) + faces), -1.0)
    gains[:, len(subjects) :] = 0.0
    for face, found in enumerate(candidates):
        for match in found:
            if recognised(match.similarity, threshold=threshold):
                j = column[match.subject]
                gains[face, j] = max(gains[face, j], match.similarity)
    rows, columns = linear_sum_assignment(gains, maximize=True)
    given: list[str | None] = [None] * faces
    for face, j in zip(rows, columns, strict=True):
        if j < len(subjects) and gains[face, j] > 0:
            given[face] = subjects[j]
    return given


def search_excluding(
    search: Search,
    service: Service,
    rows: npt.NDArray[np.float32],
    excluded: Sequence[set[str]],
    *,
    k: int,
    per_subject: bool,
    min_similarity: float | None,
) -> list[list[Match]]:
    """`Search.search` of normalised `rows`, each row's `excluded` subjects left out."""
    results = search.search(
        service, rows, k=k, per_subject=per_subject, min_similarity=min_similarity
    )
    for face, subjects in enumerate(excluded):
        found = results[face]
        if not any(m.subject in subjects for m in found):
            continue
        wanted = k
        while True:
            kept = [m for m in found if m.subject not in subjects]
            if k < 0 or len(kept) >= k or len(found) < wanted:
                break
            # An excluded subject takes one place of a per-subject answer, any number of
            # examples: looking further each time ends when the service has no more.
            wanted = wanted * GROWTH + len(subjects)
            [found] = search.search(
                service,
                rows[face : face + 1],
                k=wanted,
                per_subject=per_subject,
                min_similarity=min_similarity,
            )
        results[face] = kept if k < 0 else kept[:k]
    return results
