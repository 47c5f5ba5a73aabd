"""The console's refusals in the form's terms, in process over real HTTP and a real database:
a deploy asked without a version names the form's Version field, not the chat command."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from tests.console.site import console_site, flash


async def test_a_deploy_without_a_version_names_the_version_field(engine: AsyncEngine) -> None:
    async with console_site(engine) as (harness, browser):
        await browser.act_as("jae")
        page = await browser.post("/requests", {"target": "scoring:deploy", "version": ""})
        assert flash(page) == (
            "refused",
            "Version is required for a deploy request: fill in the Version field.",
        )
        assert '<label for="version">Version' in page  # the field it names is on the page
        assert await harness.ledger() == []


async def test_other_refusals_of_the_ask_keep_the_machines_words(engine: AsyncEngine) -> None:
    async with console_site(engine) as (harness, browser):
        await browser.act_as("dan")  # Consulted on scoring's deploy, not Responsible
        page = await browser.post("/requests", {"target": "scoring:deploy", "version": "2.0"})
        refused = flash(page)
        assert refused is not None and refused[0] == "refused", refused
        assert "Version" not in refused[1]
        assert [e.action for e in await harness.ledger()] == ["denied"]
