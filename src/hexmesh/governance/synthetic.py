"""Synthetic data: a Gaussian-copula synthesizer on NumPy/SciPy, optionally fitted with DP noise.

Each column is mapped to a normal score (numbers through their empirical CDF, categories through
frequency intervals), the correlation of the scores is fitted, and sampling runs the copula
backwards: correlated normals → uniforms → each column's inverse marginal. Marginals and
correlations survive, categorical ones included; individual rows do not.

No real identifier and no real value of a private field comes out. Text (and binary) categories
seen fewer than ``rare`` times, and every category of a ``private`` column (personal or
restricted, keys, identifiers), are replaced at fit time by made-up values of the same shape
(letters for letters, digits for digits, punctuation kept: ``ab-12@x.io`` → ``qf-80@k.zu``),
checked against every real value of the column; the model holds no such real value. Numbers of a
private column that land on a real value seen fewer than ``rare`` times are moved to the nearest
value that is not one (a birth year shared by many is no one's; a salary of one person is).

With ``epsilon`` set, half of it buys noisy marginals (a noisy histogram per column, within
public ``bounds`` for numbers) and half a noisy correlation of clipped scores; scores are taken
from the *noisy* marginals, so each row moves the correlation by a bounded amount.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from hexmesh.governance.encryption import temporal_storage
from hexmesh.governance.exceptions import PolicyError

__all__ = ["RARE", "Marginal", "SyntheticModel", "fit"]

_GRID = 257
_CLIP = 3.0  # normal scores beyond ±3 are clipped: it bounds one row's pull on the correlation
#: Categories seen fewer times than this are never emitted as they are: a rare value points at a person.
RARE = 3
_LOWER = "abcdefghijklmnopqrstuvwxyz"
_UPPER = _LOWER.upper()
_DIGITS = "0123456789"


@dataclass(frozen=True)
class Marginal:
    """One column's distribution: a quantile grid (numbers) or categories with probabilities."""

    name: str
    type: pa.DataType
    null_rate: float
    total: float
    """Rows seen (noisy under DP)."""
    quantiles: np.ndarray | None = None
    categories: list[object] | None = None
    probabilities: np.ndarray | None = None
    avoid: frozenset[float] = frozenset()
    """Real values of a private number column: a sampled value never equals one of them."""


def _normal_cdf(z: np.ndarray) -> np.ndarray:
    # SciPy is imported on first use: it costs a second at import time, and most callers never fit.
    from scipy.special import ndtr  # type: ignore[import-untyped]

    return np.asarray(ndtr(z))


def _normal_ppf(p: np.ndarray) -> np.ndarray:
    from scipy.special import ndtri

    return np.asarray(ndtri(p))


def _average_ranks(x: np.ndarray) -> np.ndarray:
    """1-based ranks, ties sharing their average rank."""
    order = np.argsort(x, kind="stable")
    _, inverse, counts = np.unique(x[order], return_inverse=True, return_counts=True)
    ends = np.cumsum(counts)
    ranks = np.empty(len(x))
    ranks[order] = ((ends - counts + 1 + ends) / 2)[inverse]
    return ranks


def _numeric(kind: pa.DataType) -> bool:
    return bool(
        pa.types.is_integer(kind)
        or pa.types.is_floating(kind)
        or pa.types.is_decimal(kind)
        or pa.types.is_temporal(kind)
    )


def _as_float(column: pa.ChunkedArray) -> np.ndarray:
    storage = temporal_storage(column.type)
    if storage is not None:
        column = column.cast(storage)
    # Whole numbers past 2^53 (ids) have no exact float: the model only needs their shape.
    return np.asarray(pc.cast(column, pa.float64(), safe=False).to_numpy(zero_copy_only=False), dtype=float)


@dataclass(frozen=True)
class SyntheticModel:
    """A fitted copula: the port's schema, one marginal per column, and the score correlation."""

    schema: pa.Schema
    marginals: list[Marginal]
    correlation: np.ndarray
    scope: str | None = None
    """The row filter (SQL text) the rows were cut to before fitting; None means all rows."""

    def sample(self, n: int, seed: int | None = None) -> pa.Table:
        """``n`` synthetic rows with the port's schema; the same seed gives the same rows."""
        rng = np.random.default_rng(seed)
        d = len(self.marginals)
        z = rng.standard_normal((n, d)) @ np.linalg.cholesky(self.correlation).T if d else np.zeros((n, 0))
        u = np.clip(_normal_cdf(z), 1e-12, 1 - 1e-12)
        columns = []
        for j, m in enumerate(self.marginals):
            nulls = rng.random(n) < m.null_rate
            if m.quantiles is not None:
                values = np.interp(u[:, j], np.linspace(0, 1, len(m.quantiles)), m.quantiles)
                columns.append(_numbers(values, nulls, m.type, m.avoid))
            else:
                assert m.categories is not None and m.probabilities is not None
                index = np.minimum(np.searchsorted(np.cumsum(m.probabilities), u[:, j]), len(m.categories) - 1)
                picked = [None if null else m.categories[i] for i, null in zip(index, nulls, strict=True)]
                columns.append(pa.array(picked, type=m.type))
        return pa.table(columns, schema=self.schema)


def _numbers(values: np.ndarray, nulls: np.ndarray, kind: pa.DataType, avoid: frozenset[float]) -> pa.Array:
    storage = temporal_storage(kind)
    whole = storage is not None or pa.types.is_integer(kind)
    if whole:
        values = np.round(values)
        if pa.types.is_integer(kind):  # 2^63 - 1 rounds up to 2^63 as a float: keep inside the type
            info = np.iinfo(kind.to_pandas_dtype())
            top = float(info.max) if int(float(info.max)) <= info.max else np.nextafter(float(info.max), -np.inf)
            values = np.clip(values, float(info.min), top)
    if avoid:
        values = _away_from(values, avoid, _step(kind))
    array = pa.array(values, mask=nulls)
    if storage is not None:
        return array.cast(storage).cast(kind)
    return array.cast(kind, safe=False)


def _step(kind: pa.DataType) -> float | None:
    """The smallest move that changes a value of ``kind`` (None: relative to a float's size)."""
    if temporal_storage(kind) is not None or pa.types.is_integer(kind):
        return 1.0
    if pa.types.is_decimal(kind):
        return float(10.0**-kind.scale)
    return None


def _away_from(values: np.ndarray, avoid: frozenset[float], unit: float | None) -> np.ndarray:
    """``values`` with each one that is a real value moved to the nearest one that is not.

    Whole numbers, dates and decimals are compared in their own units (a decimal is cut to its
    scale afterwards, so 10.004 is 10.00); other floats by their exact value.
    """
    if unit is not None:
        scaled, taken = np.round(values / unit), {float(round(a / unit)) for a in avoid}
    else:
        scaled, taken = values.copy(), set(avoid)
    out = scaled.copy()
    for i in np.flatnonzero(np.isin(scaled, np.fromiter(taken, float, len(taken)))):
        value = float(scaled[i])
        step = 1.0 if unit is not None else max(abs(value) * 1e-9, 1e-12)
        for k in range(1, len(taken) + 2):  # at most len(taken) neighbours can be taken on each side
            if value + k * step not in taken:
                out[i] = value + k * step
                break
            if value - k * step not in taken:
                out[i] = value - k * step
                break
    return out * unit if unit is not None else out


def _fabricate(value: object, rng: np.random.Generator, taken: set[object]) -> object:
    """A made-up value of the same shape as ``value`` that is not in ``taken`` (real values, other fakes)."""
    for attempt in range(64):
        if isinstance(value, bytes):
            made: object = rng.bytes(len(value) + attempt // 8)
        else:
            text = str(value)
            chars = [
                _LOWER[rng.integers(26)]
                if c in _LOWER
                else _UPPER[rng.integers(26)]
                if c in _UPPER
                else _DIGITS[rng.integers(10)]
                if c in _DIGITS
                else c
                for c in text
            ]
            # A short value may have no free shape left: grow it until it is new.
            made = "".join(chars) + "".join(_LOWER[rng.integers(26)] for _ in range(attempt // 8))
        if made not in taken:
            taken.add(made)
            return made
    raise PolicyError("could not make up a synthetic value that is not a real one")  # pragma: no cover


def _fabricable(kind: pa.DataType) -> bool:
    return bool(
        pa.types.is_string(kind)
        or pa.types.is_large_string(kind)
        or pa.types.is_binary(kind)
        or pa.types.is_large_binary(kind)
    )


def _nearest_correlation(matrix: np.ndarray) -> np.ndarray:
    matrix = np.nan_to_num((matrix + matrix.T) / 2)
    np.fill_diagonal(matrix, 1.0)
    values, vectors = np.linalg.eigh(matrix)
    fixed = vectors @ np.diag(np.maximum(values, 1e-6)) @ vectors.T
    scale = np.sqrt(np.diag(fixed))
    return np.asarray(fixed / np.outer(scale, scale))


def fit(
    table: pa.Table,
    *,
    epsilon: float | None = None,
    bounds: Mapping[str, tuple[float, float]] | None = None,
    seed: int = 0,
    scope: str | None = None,
    private: frozenset[str] = frozenset(),
    rare: int = RARE,
) -> SyntheticModel:
    """Fit the copula to ``table``; with ``epsilon``, fit it with differential privacy.

    ``scope`` records the row filter the table was cut to, so a model fitted on every row is
    never served to a principal who may only see some of them. ``private`` names the columns
    whose real values must never come out; text categories seen fewer than ``rare`` times never
    come out either (see the module's doc).
    """
    if table.num_rows < 2:
        raise PolicyError("a synthetic model needs at least two rows to fit")
    rng = np.random.default_rng(seed)
    d = table.num_columns
    eps_each = epsilon / 2 / max(d, 1) if epsilon is not None else None
    fitted: dict[str, tuple[Marginal, np.ndarray]] = {}
    numbers = [n for n in table.column_names if _numeric(table.column(n).type)]
    for name in numbers:
        fitted[name] = _fit_number(
            name, table.column(name), eps_each, (bounds or {}).get(name), rng, private=name in private, rare=rare
        )
    # A copula has one axis per column, so categories need an order on it. Ordering them by the
    # numbers' main direction puts related categories next to the values they go with; under DP
    # the data may not choose the order, so the (noisy) frequencies do.
    axis = None if eps_each is not None or not numbers else _main_direction([fitted[n][1] for n in numbers])
    for name in table.column_names:
        if name not in fitted:
            fitted[name] = _fit_category(name, table.column(name), eps_each, rng, axis)
            fitted[name] = (
                _disguised(fitted[name][0], table.column(name), name in private, rare, rng),
                fitted[name][1],
            )
    marginals = [fitted[n][0] for n in table.column_names]
    scores = [fitted[n][1] for n in table.column_names]
    z_all = np.column_stack(scores) if scores else np.zeros((table.num_rows, 0))
    if epsilon is None:
        with np.errstate(invalid="ignore", divide="ignore"):  # a constant column has no correlation: 0
            corr = np.corrcoef(z_all, rowvar=False) if d > 1 else np.ones((d, d))
    else:
        z_all = np.clip(z_all, -_CLIP, _CLIP)
        # The row count comes from the noisy marginals (post-processing), not from the table.
        n = max(float(np.median([m.total for m in marginals])), 2.0)
        pairs = max(d * (d - 1) // 2, 1)
        noise = rng.laplace(0, pairs * _CLIP**2 / (n * epsilon / 2), size=(d, d))
        corr = z_all.T @ z_all / n + np.triu(noise, 1) + np.triu(noise, 1).T
    correlation = _nearest_correlation(np.atleast_2d(corr)) if d else np.zeros((0, 0))
    return SyntheticModel(table.schema, marginals, correlation, scope)


def _fit_number(
    name: str,
    column: pa.ChunkedArray,
    eps: float | None,
    bound: tuple[float, float] | None,
    rng: np.random.Generator,
    *,
    private: bool = False,
    rare: int = RARE,
) -> tuple[Marginal, np.ndarray]:
    x = _as_float(column)
    present = ~np.isnan(x)
    probs = np.linspace(0, 1, _GRID)
    if eps is None:
        if not present.any():
            raise PolicyError(f"column {name} has no values to fit")
        quantiles = np.quantile(x[present], probs)
        ranks = _average_ranks(x[present]) / (present.sum() + 1)
        null_rate = 1 - present.mean()
    else:
        if bound is None:
            raise PolicyError(f"a DP synthetic model needs public bounds for number column {name}")
        edges = np.linspace(bound[0], bound[1], _GRID)
        counts = np.histogram(np.clip(x[present], *bound), bins=edges)[0].astype(float)
        counts = np.maximum(counts + rng.laplace(0, 1 / eps, counts.shape), 0) + 1e-9
        null_count = max((~present).sum() + rng.laplace(0, 1 / eps), 0)
        cdf = np.concatenate([[0], np.cumsum(counts) / counts.sum()])
        quantiles = np.interp(probs, cdf, edges)
        ranks = np.interp(np.clip(x[present], *bound), edges, cdf)  # scores from the noisy CDF
        null_rate = null_count / (null_count + counts.sum())
    z = np.zeros(len(x))
    z[present] = _normal_ppf(np.clip(ranks, 1e-6, 1 - 1e-6))
    total = float(len(x)) if eps is None else float(null_count + counts.sum())
    avoid: frozenset[float] = frozenset()
    if private:  # a number shared by fewer than `rare` rows points at a person; a common one does not
        values, counts = np.unique(x[present], return_counts=True)
        avoid = frozenset(float(v) for v in values[counts < rare])
    return Marginal(name, column.type, float(null_rate), total, quantiles=quantiles, avoid=avoid), z


def _disguised(
    marginal: Marginal, column: pa.ChunkedArray, private: bool, rare: int, rng: np.random.Generator
) -> Marginal:
    """``marginal`` with every private or rare text category replaced by a made-up one of its shape."""
    if marginal.categories is None or not _fabricable(marginal.type):
        return marginal
    counts = pc.value_counts(column.drop_null()).to_pylist()
    seen = {c["values"]: c["counts"] for c in counts}
    taken: set[object] = set(seen)
    categories = [_fabricate(c, rng, taken) if private or seen.get(c, 0) < rare else c for c in marginal.categories]
    return Marginal(
        marginal.name,
        marginal.type,
        marginal.null_rate,
        marginal.total,
        categories=categories,
        probabilities=marginal.probabilities,
    )


def _main_direction(scores: list[np.ndarray]) -> np.ndarray:
    """Each row's position on the first principal component of the numeric scores."""
    z = np.column_stack(scores)
    if z.shape[1] == 1:
        return np.asarray(z[:, 0])
    _, vectors = np.linalg.eigh(np.nan_to_num(np.corrcoef(z, rowvar=False)))
    return np.asarray(z @ vectors[:, -1])


def _fit_category(
    name: str, column: pa.ChunkedArray, eps: float | None, rng: np.random.Generator, axis: np.ndarray | None
) -> tuple[Marginal, np.ndarray]:
    encoded = pc.dictionary_encode(column).combine_chunks()
    index = encoded.indices.fill_null(-1).to_numpy(zero_copy_only=False)
    counts = np.bincount(index[index >= 0], minlength=len(encoded.dictionary)).astype(float)
    if axis is not None:
        sums = np.bincount(index[index >= 0], weights=axis[index >= 0], minlength=len(counts))
        order = np.argsort(sums / np.maximum(counts, 1), kind="stable")
    else:
        order = np.argsort(-counts, kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    categories = [encoded.dictionary[int(i)].as_py() for i in order]
    counts = counts[order]
    index = np.where(index >= 0, rank[np.maximum(index, 0)], -1)
    nulls = float((index < 0).sum())
    if eps is not None:
        counts += rng.laplace(0, 1 / eps, counts.shape)
        nulls = max(nulls + rng.laplace(0, 1 / eps), 0.0)
        # A category only the noise keeps alive could reveal one person: drop the small ones.
        counts[counts < 2 / eps] = 0.0
        if counts.sum() <= 0:
            raise PolicyError(f"column {name}: no category survives the DP noise; raise ε or coarsen the column")
    if counts.sum() <= 0:
        raise PolicyError(f"column {name} has no values to fit")
    probabilities = counts / counts.sum()
    lower = np.concatenate([[0], np.cumsum(probabilities)[:-1]])
    z = np.zeros(len(index))
    rows = index >= 0
    # A uniform draw inside the category's interval gives a continuous score: ties would bias correlations.
    u = lower[index[rows]] + rng.random(rows.sum()) * probabilities[index[rows]]
    z[rows] = _normal_ppf(np.clip(u, 1e-6, 1 - 1e-6))
    return Marginal(
        name,
        column.type,
        nulls / (nulls + counts.sum()),
        nulls + counts.sum(),
        categories=categories,
        probabilities=probabilities,
    ), z
