"""Each layer rule fires on a bad example and lets good code through, so that the checks in
test_layers.py, which find nothing in a clean tree, are known to be able to find something."""

from __future__ import annotations

import pytest

from tests.core.layer_rules import (
    check_adapters,
    check_docstring,
    check_import_time,
    check_workflows,
)


@pytest.mark.parametrize(
    ("source", "module", "complaint"),
    [
        ("import os", "workflows.x", "imports os: no I/O"),
        ("from bot.store import Store", "workflows.x", "imports bot.store: the shell"),
        ("import adapters.port", "workflows.x", "imports adapters.port: adapters"),
        ("import logging", "workflows.x", "imports logging: logging is a side effect"),
        ("from uuid import uuid4", "workflows.x", "imports uuid: uuid4 is randomness"),
        ("import random", "workflows.x", "imports random"),
        ("import asyncio", "workflows.x", "imports asyncio"),
        ("from time import monotonic", "workflows.x", "imports time: the time is an argument"),
        ("import sqlalchemy.orm", "workflows.x", "imports sqlalchemy.orm: no database"),
        ("from slack_sdk import WebClient", "workflows.x", "imports slack_sdk"),
        ("from microsoft_agents.activity import Activity", "workflows.x", "microsoft_agents"),
        ("import numpy", "workflows.x", "imports numpy, which is not on the workflows allowlist"),
        (
            "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from bot.store import S",
            "workflows.x",
            "3: imports bot.store",
        ),
        ("def f():\n    import httpx", "workflows.x", "2: imports httpx"),
        ("from ... import bot", "workflows.x", "beyond the top-level package"),
        ("def f(p):\n    with open(p) as f:\n        pass", "workflows.x", "2: calls open()"),
        ("print('hi')", "workflows.x", "calls print()"),
        ("from datetime import datetime\nx = datetime.now()", "workflows.x", "2: calls .now()"),
        ("import datetime\nx = datetime.date.today()", "workflows.x", "calls .today()"),
    ],
)
def test_the_workflows_rule_can_fail(source: str, module: str, complaint: str) -> None:
    problems = check_workflows(source, module)
    assert len(problems) == 1, problems
    assert complaint in problems[0]


@pytest.mark.parametrize(
    ("source", "module", "is_package"),
    [
        ("from __future__ import annotations", "workflows.x", False),
        ("from workflows.model import Actor", "workflows.x", False),
        ("from .model import Actor", "workflows.x", False),
        ("from . import model", "workflows", True),
        ("from datetime import UTC, datetime, timedelta", "workflows.x", False),
        ("import yaml\nfrom pydantic import BaseModel", "workflows.x", False),
        ("def f(now):\n    return now.isoformat()", "workflows.x", False),
    ],
)
def test_the_workflows_rule_lets_pure_code_through(
    source: str, module: str, is_package: bool
) -> None:
    assert check_workflows(source, module, is_package) == []


@pytest.mark.parametrize(
    ("source", "module", "is_package", "complaint"),
    [
        (
            "from bot import settings",
            "adapters.slack.app",
            False,
            "imports bot: adapters translate",
        ),
        ("import bot.store", "adapters.fake", False, "imports bot.store"),
        ("def f():\n    from bot.store import S", "adapters.fake", False, "2: imports bot.store"),
        ("from ...bot import store", "adapters.slack.app", False, "beyond the top-level"),
        ("from sqlalchemy.ext.asyncio import AsyncSession", "adapters.x", False, "session"),
        ("import migrations", "adapters", True, "imports migrations"),
    ],
)
def test_the_adapters_rule_can_fail(
    source: str, module: str, is_package: bool, complaint: str
) -> None:
    problems = check_adapters(source, module, is_package)
    assert len(problems) == 1, problems
    assert complaint in problems[0]


def test_the_adapters_rule_lets_translation_through() -> None:
    source = (
        "from workflows.commands import Command\n"
        "from adapters.port import ChatPort\n"
        "from .port import ChatPort as P\n"
        "from slack_sdk.web.async_client import AsyncWebClient\n"
        "from aiohttp import web\n"
    )
    assert check_adapters(source, "adapters.slack.app") == []


@pytest.mark.parametrize(
    ("source", "complaint"),
    [
        ("engine = create_async_engine('sqlite://')", "1: calls create_async_engine()"),
        (
            "from bot.database import create_engine\nE = create_engine('x')",
            "2: calls create_engine()",
        ),
        ("from aiohttp import web\napp = web.Application()", "2: calls Application()"),
        ("class Bot:\n    app = AsyncApp(token='x')", "2: calls AsyncApp()"),
        ("def f(client=AsyncWebClient()):\n    pass", "1: calls AsyncWebClient()"),
        ("@register(ClientSession())\ndef f():\n    pass", "1: calls ClientSession()"),
        ("if True:\n    scheduler = AsyncIOScheduler()", "2: calls AsyncIOScheduler()"),
        ("clients = [WebClient() for _ in range(2)]", "calls WebClient()"),
        ("from bot.settings import Settings\nSETTINGS = Settings()", "2: calls Settings()"),
    ],
)
def test_the_import_time_rule_can_fail(source: str, complaint: str) -> None:
    problems = check_import_time(source)
    assert len(problems) == 1, problems
    assert complaint in problems[0]


def test_the_import_time_rule_lets_factories_through() -> None:
    source = (
        "def create_app():\n"
        "    return web.Application()\n"
        "async def engine():\n"
        "    return create_async_engine('sqlite://')\n"
        "class Runtime:\n"
        "    def client(self):\n"
        "        return AsyncWebClient()\n"
        "make = lambda: AsyncApp()\n"
        "if __name__ == '__main__':\n"
        "    web.run_app(web.Application())\n"
    )
    assert check_import_time(source) == []


def test_the_docstring_rule_can_fail() -> None:
    assert check_docstring("import os\n") != []
    assert check_docstring('""" """\n') != []
    assert check_docstring("") != []
    assert check_docstring('"""The outbox relay: delivers messages after commit."""\n') == []
