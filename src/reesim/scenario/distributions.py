"""Uncertain values: distribution specs and their inverse-CDF sampling.

A numeric field of a scenario (or a date) is either a plain value or one of
the distributions below, written in TOML as an inline table::

    duration_days = { dist = "lognormal", median = 365, p90 = 900 }
    start = { dist = "uniform", low = 2026-01-01, high = 2026-12-31 }

Every distribution is sampled by its inverse CDF from uniforms in (0, 1), so
one uniform per replicate per draw gives the value; the uniforms come from the
replicate's own seed stream (see :mod:`reesim.sampling`).
"""

from __future__ import annotations

import datetime as dt
import math
from abc import abstractmethod
from collections.abc import Sequence
from typing import Annotated, ClassVar, Literal

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict, Field, model_validator
from typing_extensions import TypeIs

__all__ = [
    "Bernoulli",
    "Dist",
    "Fixed",
    "LogNormal",
    "Normal",
    "Triangular",
    "Uniform",
    "Z90",
    "as_days",
    "is_dist",
]

#: The standard normal quantile at 0.9, used to turn a p90 into a lognormal sigma.
Z90 = 1.2815515655446004

Scalar = float | dt.date


def as_days(value: Scalar, origin: dt.date) -> float:
    """Express a value as days after ``origin`` when it is a date; else return it."""
    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, dt.date):
        return float((value - origin).days)
    return float(value)


# Wichura's algorithm AS241 (Applied Statistics 37(3):477-484, 1988), the one
# Python's statistics.NormalDist.inv_cdf uses: relative error about 1e-16, in
# NumPy so that drawing a normal does not import SciPy.
_AS241_CENTRAL = (
    (
        2.5090809287301226727e3,
        3.3430575583588128105e4,
        6.7265770927008700853e4,
        4.5921953931549871457e4,
        1.3731693765509461125e4,
        1.9715909503065514427e3,
        1.3314166789178437745e2,
        3.3871328727963666080e0,
    ),
    (
        5.2264952788528545610e3,
        2.8729085735721942674e4,
        3.9307895800092710610e4,
        2.1213794301586595867e4,
        5.3941960214247511077e3,
        6.8718700749205790830e2,
        4.2313330701600911252e1,
        1.0,
    ),
)
_AS241_NEAR = (
    (
        7.74545014278341407640e-4,
        2.27238449892691845833e-2,
        2.41780725177450611770e-1,
        1.27045825245236838258e0,
        3.64784832476320460504e0,
        5.76949722146069140550e0,
        4.63033784615654529590e0,
        1.42343711074968357734e0,
    ),
    (
        1.05075007164441684324e-9,
        5.47593808499534494600e-4,
        1.51986665636164571966e-2,
        1.48103976427480074590e-1,
        6.89767334985100004550e-1,
        1.67638483018380384940e0,
        2.05319162663775882187e0,
        1.0,
    ),
)
_AS241_TAIL = (
    (
        2.01033439929228813265e-7,
        2.71155556874348757815e-5,
        1.24266094738807843860e-3,
        2.65321895265761230930e-2,
        2.96560571828504891230e-1,
        1.78482653991729133580e0,
        5.46378491116411436990e0,
        6.65790464350110377720e0,
    ),
    (
        2.04426310338993978564e-15,
        1.42151175831644588870e-7,
        1.84631831751005468180e-5,
        7.86869131145613259100e-4,
        1.48753612908506148525e-2,
        1.36929880922735805310e-1,
        5.99832206555887937690e-1,
        1.0,
    ),
)


def _ratio(
    coeffs: tuple[tuple[float, ...], tuple[float, ...]], r: NDArray[np.float64]
) -> NDArray[np.float64]:
    num = np.zeros_like(r)
    den = np.zeros_like(r)
    for a, b in zip(coeffs[0], coeffs[1], strict=True):
        num = num * r + a
        den = den * r + b
    return num / den


def _ndtri(u: NDArray[np.float64]) -> NDArray[np.float64]:
    """Standard normal quantile of ``u`` in (0, 1), elementwise (AS241)."""
    u = np.asarray(u, dtype=np.float64)
    q = u - 0.5
    central = np.abs(q) <= 0.425
    out = np.empty_like(u)
    rc = 0.180625 - q[central] ** 2
    out[central] = q[central] * _ratio(_AS241_CENTRAL, rc)
    qt = q[~central]
    p = np.where(qt <= 0.0, u[~central], 1.0 - u[~central])
    with np.errstate(divide="ignore"):
        r = np.sqrt(-np.log(p))
    near = r <= 5.0
    x = np.where(near, _ratio(_AS241_NEAR, r - 1.6), _ratio(_AS241_TAIL, r - 5.0))
    out[~central] = np.where(qt < 0.0, -x, x)
    return out


class _Dist(BaseModel):
    # NaN or infinite parameters make every draw meaningless, so they are refused here.
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    #: Fields that hold values of the sampled quantity (dates or numbers).
    VALUE_FIELDS: ClassVar[tuple[str, ...]] = ()

    def is_date(self) -> bool:
        """True when the distribution is written in dates."""
        # Only the value fields can hold dates (the others are typed float); reading
        # them directly avoids a model_dump, which compiling a scenario would pay per draw.
        return any(isinstance(getattr(self, name), dt.date) for name in self.VALUE_FIELDS)

    @model_validator(mode="after")
    def _one_kind(self) -> _Dist:
        # A mix such as low = 2026-01-01, high = 90 has no meaning: days after what?
        kinds = {
            isinstance(getattr(self, name), dt.date)
            for name in self.VALUE_FIELDS
            if getattr(self, name) is not None
        }
        if len(kinds) > 1:
            shown = ", ".join(f"{n}={getattr(self, n)}" for n in self.VALUE_FIELDS)
            raise ValueError(f"mixes dates and numbers ({shown}); write all dates or all numbers")
        return self

    @abstractmethod
    def support(self) -> tuple[float, float, bool, bool]:
        """Smallest and largest value a draw can take, for bound checks.

        Returns
        -------
        tuple
            ``(low, high, low_open, high_open)``; dates as ordinals; an open
            end is never reached (the lognormal's 0).
        """

    def in_days(self, origin: dt.date) -> _Dist:
        """The same distribution with every date turned into days after ``origin``."""
        data = {
            k: (as_days(v, origin) if isinstance(v, dt.date) else v)
            for k, v in self.model_dump().items()
        }
        return type(self).model_validate(data)

    @abstractmethod
    def ppf(self, u: NDArray[np.float64]) -> NDArray[np.float64]:
        """Inverse CDF at uniforms ``u`` in (0, 1)."""

    @classmethod
    def ppf_rows(cls, dists: Sequence[_Dist], u: NDArray[np.float64]) -> NDArray[np.float64]:
        """Row ``i`` of [D, R] uniforms ``u`` through ``dists[i].ppf``, all of this class.

        The same numbers as calling each ``ppf`` in turn; classes with a
        closed-form inverse override it to work on all rows in one pass.
        """
        return np.array([d.ppf(row) for d, row in zip(dists, u, strict=True)]).reshape(u.shape)

    @abstractmethod
    def mean_value(self) -> float:
        """Expected value (used for steady-state planning and documentation)."""


def _num(v: Scalar) -> float:
    return float(v.toordinal()) if isinstance(v, dt.date) else float(v)


def _columns(dists: Sequence[_Dist], names: tuple[str, ...]) -> list[NDArray[np.float64]]:
    """The fields ``names`` of every distribution as [D, 1] columns (dates as ordinals)."""
    return [np.array([[_num(getattr(d, name))] for d in dists]) for name in names]


class Fixed(_Dist):
    """A fixed value written as a distribution: ``{ dist = "fixed", value = 3 }``."""

    dist: Literal["fixed"] = "fixed"
    value: Scalar

    VALUE_FIELDS = ("value",)

    def support(self) -> tuple[float, float, bool, bool]:
        return _num(self.value), _num(self.value), False, False

    def ppf(self, u: NDArray[np.float64]) -> NDArray[np.float64]:
        return np.full(np.shape(u), _num(self.value))

    def mean_value(self) -> float:
        return _num(self.value)


class Uniform(_Dist):
    """Uniform on [low, high]."""

    dist: Literal["uniform"] = "uniform"
    low: Scalar
    high: Scalar

    VALUE_FIELDS = ("low", "high")

    def support(self) -> tuple[float, float, bool, bool]:
        return _num(self.low), _num(self.high), False, False

    @model_validator(mode="after")
    def _order(self) -> Uniform:
        if _num(self.low) > _num(self.high):
            raise ValueError(f"low must be <= high (got low={self.low}, high={self.high})")
        return self

    def ppf(self, u: NDArray[np.float64]) -> NDArray[np.float64]:
        lo, hi = _num(self.low), _num(self.high)
        return lo + np.asarray(u) * (hi - lo)

    @classmethod
    def ppf_rows(cls, dists: Sequence[_Dist], u: NDArray[np.float64]) -> NDArray[np.float64]:
        lo, hi = _columns(dists, ("low", "high"))
        return lo + np.asarray(u) * (hi - lo)

    def mean_value(self) -> float:
        return 0.5 * (_num(self.low) + _num(self.high))


class Triangular(_Dist):
    """Triangular with support [low, high] and peak at mode."""

    dist: Literal["triangular"] = "triangular"
    low: Scalar
    mode: Scalar
    high: Scalar

    VALUE_FIELDS = ("low", "mode", "high")

    def support(self) -> tuple[float, float, bool, bool]:
        return _num(self.low), _num(self.high), False, False

    @model_validator(mode="after")
    def _order(self) -> Triangular:
        lo, mo, hi = _num(self.low), _num(self.mode), _num(self.high)
        if not lo <= mo <= hi:
            raise ValueError(
                f"need low <= mode <= high (got low={self.low}, mode={self.mode}, high={self.high})"
            )
        return self

    def ppf(self, u: NDArray[np.float64]) -> NDArray[np.float64]:
        lo, mo, hi = _num(self.low), _num(self.mode), _num(self.high)
        u = np.asarray(u, dtype=np.float64)
        if hi == lo:
            return np.full(u.shape, lo)
        c = (mo - lo) / (hi - lo)
        left = lo + np.sqrt(u * (hi - lo) * (mo - lo))
        right = hi - np.sqrt((1.0 - u) * (hi - lo) * (hi - mo))
        return np.where(u < c, left, right)

    @classmethod
    def ppf_rows(cls, dists: Sequence[_Dist], u: NDArray[np.float64]) -> NDArray[np.float64]:
        # The scalar formula with one column of parameters per row: each element sees
        # the same operations on the same numbers.
        lo, mo, hi = _columns(dists, ("low", "mode", "high"))
        u = np.asarray(u, dtype=np.float64)
        point = hi == lo
        span = np.where(point, 1.0, hi - lo)  # a point mass has no slope (value set below)
        c = (mo - lo) / span
        left = lo + np.sqrt(u * span * (mo - lo))
        right = hi - np.sqrt((1.0 - u) * span * (hi - mo))
        out = np.where(u < c, left, right)
        return np.where(point, lo, out) if point.any() else out

    def mean_value(self) -> float:
        return (_num(self.low) + _num(self.mode) + _num(self.high)) / 3.0


class Normal(_Dist):
    """Normal(mean, sd), clipped to [low, high] and to the field's own bounds.

    For a date, ``mean`` is a date and ``sd`` is in days.
    """

    dist: Literal["normal"] = "normal"
    mean: Scalar
    sd: float = Field(ge=0)
    low: Scalar | None = None
    high: Scalar | None = None

    VALUE_FIELDS = ("mean", "low", "high")

    def support(self) -> tuple[float, float, bool, bool]:
        lo = -math.inf if self.low is None else _num(self.low)
        hi = math.inf if self.high is None else _num(self.high)
        return lo, hi, False, False

    @model_validator(mode="after")
    def _order(self) -> Normal:
        if self.low is not None and self.high is not None and _num(self.low) > _num(self.high):
            raise ValueError(f"low must be <= high (got low={self.low}, high={self.high})")
        return self

    def in_days(self, origin: dt.date) -> _Dist:
        return Normal(
            mean=as_days(self.mean, origin),
            sd=self.sd,
            low=None if self.low is None else as_days(self.low, origin),
            high=None if self.high is None else as_days(self.high, origin),
        )

    def ppf(self, u: NDArray[np.float64]) -> NDArray[np.float64]:
        x = _num(self.mean) + self.sd * _ndtri(np.asarray(u, dtype=np.float64))
        lo = -np.inf if self.low is None else _num(self.low)
        hi = np.inf if self.high is None else _num(self.high)
        return np.clip(x, lo, hi)

    def mean_value(self) -> float:
        return _num(self.mean)


class LogNormal(_Dist):
    """Lognormal given by its median and 90th percentile (p90 >= median > 0).

    sigma = ln(p90 / median) / z_0.9 with z_0.9 = 1.2815515655446004.
    """

    dist: Literal["lognormal"] = "lognormal"
    median: float = Field(gt=0)
    p90: float = Field(gt=0)

    @model_validator(mode="after")
    def _order(self) -> LogNormal:
        if self.p90 < self.median:
            raise ValueError(f"p90 must be >= median (got median={self.median}, p90={self.p90})")
        return self

    def support(self) -> tuple[float, float, bool, bool]:
        return 0.0, math.inf, True, False

    @property
    def sigma(self) -> float:
        """Log-scale standard deviation."""
        return math.log(self.p90 / self.median) / Z90

    def ppf(self, u: NDArray[np.float64]) -> NDArray[np.float64]:
        return self.median * np.exp(self.sigma * _ndtri(np.asarray(u, dtype=np.float64)))

    def mean_value(self) -> float:
        return self.median * math.exp(0.5 * self.sigma**2)


class Bernoulli(_Dist):
    """1 with probability p, else 0 (``does it happen``)."""

    dist: Literal["bernoulli"] = "bernoulli"
    p: float = Field(ge=0, le=1)

    def support(self) -> tuple[float, float, bool, bool]:
        return 0.0, 1.0, False, False

    def ppf(self, u: NDArray[np.float64]) -> NDArray[np.float64]:
        return (np.asarray(u) < self.p).astype(np.float64)

    def mean_value(self) -> float:
        return self.p


Dist = Annotated[
    Fixed | Uniform | Triangular | Normal | LogNormal | Bernoulli,
    Field(discriminator="dist"),
]
"""Any distribution spec, told apart by its ``dist`` key."""


def is_dist(value: object) -> TypeIs[_Dist]:
    """True when ``value`` is a distribution spec rather than a plain value."""
    return isinstance(value, _Dist)
