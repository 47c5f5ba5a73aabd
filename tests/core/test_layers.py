"""The source obeys the layer rules: a pure core, adapters that translate, nothing built at
import time, and a docstring on every module (the rules are in layer_rules.py)."""

from __future__ import annotations

from tests.core.layer_rules import (
    PACKAGES,
    ROOT,
    check_adapters,
    check_docstring,
    check_import_time,
    check_workflows,
    module_name,
    names_a_package,
    report,
    sources,
)


def test_the_checks_see_the_source() -> None:
    """A wrong path would make every rule pass on nothing."""
    for package in PACKAGES:
        assert len(sources(package)) >= 2, package
    assert ROOT / "workflows" / "ledger.py" in sources("workflows")


def test_workflows_is_pure() -> None:
    problems = {
        path: check_workflows(path.read_text(encoding="utf-8"), name, names_a_package(name))
        for path in sources("workflows")
        for name in [module_name(path)]
    }
    assert report(problems) == []


def test_adapters_do_not_reach_into_the_shell() -> None:
    problems = {
        path: check_adapters(path.read_text(encoding="utf-8"), name, names_a_package(name))
        for path in sources("adapters")
        for name in [module_name(path)]
    }
    assert report(problems) == []


def test_nothing_is_constructed_at_import_time() -> None:
    problems = {
        path: check_import_time(path.read_text(encoding="utf-8")) for path in sources(*PACKAGES)
    }
    assert report(problems) == []


def test_every_module_has_a_docstring() -> None:
    problems = {
        path: check_docstring(path.read_text(encoding="utf-8")) for path in sources(*PACKAGES)
    }
    assert report(problems) == []
