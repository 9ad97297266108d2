"""The public namespace: what README documents is what ``reesim`` exports, and it all exists."""

from __future__ import annotations

import inspect
import re
from importlib.metadata import version
from pathlib import Path

import reesim

README = Path(__file__).resolve().parents[1] / "README.md"


def documented_names() -> set[str]:
    """Names in the first column of the README's table of public names."""
    text = README.read_text(encoding="utf-8")
    section = text.split("## Python API", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^\| `([A-Za-z_]\w*)` \|", section, flags=re.MULTILINE))


def test_readme_documents_exactly_the_public_names() -> None:
    documented = documented_names()
    assert len(documented) >= 8
    assert documented == set(reesim.__all__)


def test_every_public_name_exists_and_is_documented_in_code() -> None:
    for name in reesim.__all__:
        obj = getattr(reesim, name)
        if name != "__version__":
            assert inspect.getdoc(obj), f"reesim.{name} has no docstring"


def test_all_has_no_duplicates_and_no_private_names() -> None:
    assert len(reesim.__all__) == len(set(reesim.__all__))
    assert all(not n.startswith("_") or n == "__version__" for n in reesim.__all__)


def test_version_comes_from_package_metadata() -> None:
    assert reesim.__version__ == version("reesim")
    assert re.fullmatch(r"\d+\.\d+\.\d+\S*", reesim.__version__)


def test_simulate_signature_is_the_documented_one() -> None:
    params = inspect.signature(reesim.simulate).parameters
    assert list(params) == [
        "scenario",
        "replicates",
        "seed",
        "engine",
        "chunk_size",
        "record",
        "progress",
    ]
    assert params["replicates"].default == 1000
    assert params["seed"].default is None
    assert params["engine"].default == "vector"
    assert params["record"].default == "auto"


def test_errors_keep_their_promised_bases() -> None:
    assert issubclass(reesim.ScenarioError, reesim.ReesimError)
    assert issubclass(reesim.ScenarioError, ValueError)
    assert issubclass(reesim.MassBalanceError, reesim.ReesimError)
    assert issubclass(reesim.ReesimWarning, UserWarning)


def test_results_offers_the_documented_methods() -> None:
    for name in (
        "summary",
        "metrics",
        "group_metrics",
        "exceedance",
        "to_xarray",
        "mass_balance",
        "check_mass_balance",
        "save",
    ):
        assert hasattr(reesim.Results, name), name


def test_builtins_include_the_default_scenario() -> None:
    names = list(reesim.list_builtin())
    assert "default" in [n if isinstance(n, str) else n[0] for n in names]
    assert reesim.load_scenario("default").name == "default"
