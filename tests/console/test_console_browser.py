"""The console in a real browser (Chromium through Playwright) against a real `signoff serve`:
from a fresh database to a decided quorum-2 request in local mode, its timeline as `signoff
audit export` has it, an auditor's export that `signoff audit verify --file` accepts, a
person who may not see the system getting 404, and a form without its token refused.

Screenshots of each page go to tests/artifacts/console/ (git-ignored), kept by CI.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import zipfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from playwright.async_api import Page, async_playwright, expect

from tests.console.idp_standin import CLIENT_ID, CLIENT_SECRET, TENANT, IdentityProvider, start_idp
from tests.console.site import POLICY_FILE, TOMAS_OID
from tests.serve_process import Server, _env, signoff, start_server

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts" / "console"

pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists() and not os.environ.get("CI"),
    reason="Debian's chromium is not installed (CI installs it)",
)


@asynccontextmanager
async def served(tmp_path: Path) -> AsyncIterator[Server]:
    env = _env(tmp_path, SIGNOFF_POLICY=str(POLICY_FILE), HOST="127.0.0.1")
    upgraded = signoff(tmp_path, "db", "upgrade", SIGNOFF_POLICY=str(POLICY_FILE))
    assert upgraded.returncode == 0, upgraded.stderr
    server = await start_server(tmp_path, "console", env)
    try:
        yield server
    finally:
        await server.stop()


UNLABELLED = """[...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
    .filter(field => !field.labels || field.labels.length === 0).map(field => field.name)"""


async def _shot(page: Page, name: str) -> None:
    """Save the page as a picture, once every field on it has its label (for screen readers)."""
    assert await page.evaluate(UNLABELLED) == [], name
    assert await page.locator("h1").count() == 1, name
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


async def _act_as(page: Page, person: str) -> None:
    await page.select_option("#act-as", person)
    await page.get_by_role("button", name="Switch").click()
    await expect(page.get_by_role("status")).to_contain_text("You now act as")


async def _answer(page: Page, base: str, request_id: str, button: str, words: str = "") -> None:
    await page.goto(f"{base}/requests/{request_id}")
    form = page.locator("form.answer-form").filter(
        has=page.get_by_role("button", name=button, exact=True)
    )
    if words:
        await form.locator("textarea").fill(words)
    await form.get_by_role("button", name=button, exact=True).click()


async def test_the_main_job_in_local_mode_in_a_real_browser(tmp_path: Path) -> None:
    async with served(tmp_path) as server, async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM)
        try:
            page = await browser.new_page(accept_downloads=True)
            base = server.base
            await page.goto(base)
            await expect(page.locator(".banner")).to_contain_text("Local mode")
            await _shot(page, "01-front-page")

            # Jae, an engineer (Responsible), asks.
            await _act_as(page, "jae")
            await page.get_by_role("link", name="Ask").click()
            await page.select_option("#target", "scoring:deploy")
            await page.get_by_label("Version").fill("2.3.1")
            await page.get_by_label("Reason").fill("quarterly retrain")
            await _shot(page, "02-ask")
            await page.get_by_role("button", name="Ask for approval").click()
            heading = await page.locator("h1").inner_text()
            request_id = re.search(r"Request (R[0-9A-Z]+)", heading)
            assert request_id is not None, heading
            rid = request_id.group(1)
            await expect(page.locator("#status")).to_have_text("pending")

            # Jae is also one of the leads, yet may not approve what Jae asked for.
            await _answer(page, base, rid, "Approve")
            await expect(page.get_by_role("alert")).to_contain_text(
                "You asked for this, so you cannot decide it yourself"
            )
            await _shot(page, "03-self-approval-refused")

            # Dan is consulted first; then two leads approve.
            await _act_as(page, "dan")
            await _answer(page, base, rid, "No objection")
            await _act_as(page, "mina")
            await _answer(page, base, rid, "Approve")
            await expect(page.locator("#status")).to_have_text("pending")
            await _act_as(page, "tomas")
            await page.goto(base)
            await expect(page.locator("#waiting-h + div")).to_contain_text(rid)
            await _shot(page, "04-waiting-on-tomas")
            await _answer(page, base, rid, "Approve")
            await expect(page.locator("#status")).to_have_text("approved")
            await _shot(page, "05-approved")

            # The page's timeline is the ledger's, as `signoff audit export` writes it.
            shown = [int(s) for s in await page.locator("#timeline td.seq").all_inner_texts()]
            exported = signoff(tmp_path, "audit", "export", "--format", "jsonl",
                               SIGNOFF_POLICY=str(POLICY_FILE))  # fmt: skip
            assert exported.returncode == 0, exported.stderr
            entries = [json.loads(line) for line in exported.stdout.splitlines()]
            about = [e for e in entries if e["subject_id"] == rid]
            assert shown == [e["seq"] for e in about]
            assert [e["action"] for e in about] == [
                "requested", "denied", "consulted", "voted", "approved",
            ]  # fmt: skip
            for entry in about:
                await expect(page.locator("#timeline")).to_contain_text(entry["hash"][:12])

            await page.get_by_role("link", name="Audit trail").click()
            await expect(page.locator("#ledger")).to_contain_text(rid)
            await _shot(page, "06-audit-trail")

            # Lena, the policy's auditor, exports the ledger; the file verifies on its own.
            await _act_as(page, "lena")
            await page.goto(f"{base}/ledger?verify=1")
            await expect(page.get_by_role("status").last).to_contain_text("The chain verifies")
            async with page.expect_download() as waiting:
                await page.get_by_role("button", name="Export the ledger (JSONL)").click()
            download = await waiting.value
            saved = tmp_path / "export.jsonl"
            await download.save_as(saved)
            verified = signoff(tmp_path, "audit", "verify", "--file", str(saved))
            assert verified.returncode == 0, verified.stdout + verified.stderr
            lines = saved.read_text().splitlines()
            assert len(lines) >= len(entries)
            assert f"{len(lines)} entries verified" in verified.stdout
            # The evidence pack: its ledger verifies with the command line alone.
            async with page.expect_download() as waiting:
                await page.get_by_role("button", name="Evidence pack (zip)").click()
            pack_file = tmp_path / "evidence.zip"
            await (await waiting.value).save_as(pack_file)
            with zipfile.ZipFile(pack_file) as pack:
                pack.extractall(tmp_path / "evidence")
            manifest = json.loads((tmp_path / "evidence" / "manifest.json").read_text())
            for name, facts in manifest["files"].items():
                held = (tmp_path / "evidence" / name).read_bytes()
                assert hashlib.sha256(held).hexdigest() == facts["sha256"], name
            checked = signoff(tmp_path, "audit", "verify", "--file",
                              str(tmp_path / "evidence" / "ledger.jsonl"))  # fmt: skip
            assert checked.returncode == 0, checked.stdout + checked.stderr
            assert rid in (tmp_path / "evidence" / "decisions.csv").read_text()
            for where in ("inventory", "reviews", "incidents", "requests", "indicators"):
                await page.goto(f"{base}/{where}")
                await _shot(page, f"07-{where}")

            # Priya holds no letter on scoring: its request does not exist for her.
            await _act_as(page, "priya")
            answer = await page.goto(f"{base}/requests/{rid}")
            assert answer is not None and answer.status == 404
            await _shot(page, "08-not-found")

            # A form without the session's CSRF token changes nothing.
            refused = await page.request.post(
                f"{base}/requests", form={"target": "search:deploy", "version": "1"}
            )
            assert refused.status == 403
            forged = await page.request.post(
                f"{base}/requests",
                form={"target": "search:deploy", "version": "1", "csrf": "forged"},
            )
            assert forged.status == 403
            after = signoff(tmp_path, "audit", "export", "--format", "jsonl",
                            SIGNOFF_POLICY=str(POLICY_FILE))  # fmt: skip
            later = [json.loads(line) for line in after.stdout.splitlines()]
            assert [e["subject_id"] for e in later if e["action"] == "requested"] == [rid]
            taken = [(e["actor_person"], e["data"]["format"]) for e in later
                     if e["actor_platform"] == "web" and e["action"] == "exported"]  # fmt: skip
            assert taken == [("lena", "jsonl"), ("lena", "evidence-pack")]
        finally:
            await browser.close()


async def test_on_a_phone_the_ask_and_request_pages_need_no_sideways_scrolling(
    tmp_path: Path,
) -> None:
    async with served(tmp_path) as server, async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM)
        try:
            page = await browser.new_page(viewport={"width": 390, "height": 844})
            await page.goto(server.base)
            await _act_as(page, "jae")
            await page.goto(f"{server.base}/requests/new")
            await page.keyboard.press("Tab")  # the skip link comes first
            await expect(page.locator("a.skip")).to_be_focused()
            width = await page.evaluate("document.documentElement.scrollWidth")
            assert width <= 390
            await _shot(page, "09-phone-ask")
            await page.get_by_label("Version").fill("2.3.1")
            await page.get_by_role("button", name="Ask for approval").click()
            await expect(page.locator("#status")).to_have_text("pending")
            width = await page.evaluate("document.documentElement.scrollWidth")
            assert width <= 390  # wide tables scroll inside their own box
            await _shot(page, "10-phone-request")
        finally:
            await browser.close()


def test_local_mode_on_every_address_refuses_to_start(tmp_path: Path) -> None:
    done = signoff(tmp_path, "serve", HOST="0.0.0.0", SIGNOFF_CONSOLE="local", PORT="3999")
    assert done.returncode == 2
    assert "refusing to start: SIGNOFF_CONSOLE=local but HOST=0.0.0.0" in done.stderr
    assert "serving on" not in done.stderr


async def test_a_browser_signs_in_through_openid_connect_and_lands_on_its_person(
    tmp_path: Path,
) -> None:
    provider = IdentityProvider(account={"oid": TOMAS_OID, "tid": TENANT})
    runner = await start_idp(provider)
    env = _env(
        tmp_path,
        SIGNOFF_POLICY=str(POLICY_FILE),
        HOST="127.0.0.1",
        SIGNOFF_CONSOLE_SECRET="a-console-session-secret-of-40-characters",
        SIGNOFF_CONSOLE_OIDC_ISSUER=provider.base,
        SIGNOFF_CONSOLE_OIDC_CLIENT_ID=CLIENT_ID,
        SIGNOFF_CONSOLE_OIDC_CLIENT_SECRET=CLIENT_SECRET,
        SIGNOFF_CONSOLE_OIDC_TENANT=TENANT,
    )
    assert signoff(tmp_path, "db", "upgrade", SIGNOFF_POLICY=str(POLICY_FILE)).returncode == 0
    server = await start_server(tmp_path, "console-oidc", env)
    try:
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(executable_path=CHROMIUM)
            try:
                page = await browser.new_page()
                await page.goto(server.base)
                await expect(page.locator(".banner")).to_have_count(0)  # no local mode
                await page.get_by_role("link", name="Sign in").first.click()
                await expect(page.get_by_role("status")).to_have_text("Signed in as Tomas Berg.")
                await _shot(page, "11-signed-in")
                [asked] = provider.authorizations
                assert asked["code_challenge_method"] == "S256"
                assert provider.refusals == []
                cookies = await page.context.cookies()
                [session] = [c for c in cookies if c["name"] == "signoff_console"]
                assert session["httpOnly"] and session["sameSite"] == "Lax"
            finally:
                await browser.close()
    finally:
        await server.stop()
        await runner.cleanup()
    assert "signed in as tomas" in server.text()


async def test_a_page_refreshes_itself_when_someone_else_answers(tmp_path: Path) -> None:
    async with served(tmp_path) as server, async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM)
        try:
            watching = await browser.new_page()  # a context of its own: its own session
            answering = await (await browser.new_context()).new_page()
            await answering.goto(server.base)
            await _act_as(answering, "jae")
            await answering.goto(f"{server.base}/requests/new")
            await answering.get_by_label("Version").fill("5.0")
            await answering.get_by_role("button", name="Ask for approval").click()
            rid = (await answering.locator("h1").inner_text()).split()[1]
            await _act_as(answering, "dan")
            await _answer(answering, server.base, rid, "No objection")

            await watching.goto(server.base)
            await _act_as(watching, "tomas")
            await watching.goto(f"{server.base}/requests/{rid}")
            await expect(watching.locator(".state")).to_contain_text("0 of 2 approvals")
            await _act_as(answering, "mina")
            await _answer(answering, server.base, rid, "Approve")
            # No reload by the test: the page's own script sees the ledger move.
            await expect(watching.locator(".state")).to_contain_text(
                "1 of 2 approvals", timeout=15_000
            )
        finally:
            await browser.close()
