"""The portal in a real browser (Debian's Chromium, driven by Playwright) against a real service process.

No browser is ever downloaded (see conftest.py). Every test fails on a console error or an uncaught exception
in the page.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page, expect

from tests.conftest import free_port
from tests.proxy_image._raw import messages_of, modern_call
from tests.service.conftest import ServiceProcess, everything_spec, wait_for
from tests.service.identity_provider import AUDIENCE, IdentityProvider, Keys

# Set to a directory (e.g. docs) to save screenshots of the main views there.
SCREENSHOTS = os.environ.get("MCP_ADAPTERS_PORTAL_SCREENSHOTS")
READY = 90_000  # ms: an adapter's first start includes the bridge's and the server's imports on a busy machine
STEP = 15_000

expect.set_options(timeout=STEP)


@pytest.fixture
def service(start_service: Callable[..., ServiceProcess]) -> ServiceProcess:
    return start_service()  # what `dev.py serve` runs: development mode, no trusted-servers list


class Pages:
    """New pages on the service, each failing its test on console errors and page errors."""

    def __init__(self, browser: Browser) -> None:
        self.browser = browser
        self.problems: list[str] = []
        self.expected: list[str] = []
        self.contexts: list[BrowserContext] = []

    def expect_error(self, text: str) -> None:
        """A console error the test provokes on purpose (Chromium logs every 4xx a fetch gets)."""
        self.expected.append(text)

    def _console(self, message: ConsoleMessage) -> None:
        text = f"{message.text} ({message.location.get('url')})"
        if message.type == "error" and not any(expected in text for expected in self.expected):
            self.problems.append(f"console error: {text}")

    def open(self, service: ServiceProcess, width: int = 1280, height: int = 900) -> Page:
        context = self.browser.new_context(viewport={"width": width, "height": height}, base_url=service.url)
        self.contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(STEP)
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.problems.append(f"page error: {error}"))
        return page


@pytest.fixture
def pages(browser: Browser, start_service: Callable[..., ServiceProcess]) -> Iterator[Pages]:
    # After start_service, so the pages close before the services stop.
    pages = Pages(browser)
    yield pages
    for context in pages.contexts:
        context.close()
    assert pages.problems == []


UNLABELLED = """() => [...document.querySelectorAll("input, select, textarea, button, a")]
    .filter((el) => el.offsetParent !== null)
    .filter((el) => ["BUTTON", "A"].includes(el.tagName)
        ? !el.textContent.trim() && !el.getAttribute("aria-label")
        : el.labels.length === 0 && !el.getAttribute("aria-label"))
    .map((el) => el.outerHTML.slice(0, 160))"""


def check_view(page: Page, name: str, width: int = 1280) -> None:
    """Every visible control has an accessible name, nothing scrolls sideways; a screenshot when asked."""
    assert page.evaluate(UNLABELLED) == [], name
    assert page.evaluate("document.documentElement.scrollWidth") <= width, name
    if SCREENSHOTS:
        page.screenshot(path=str(Path(SCREENSHOTS) / f"portal-{name}.png"), full_page=True)


def act_as(page: Page, preset: str) -> None:
    page.locator(".identity-menu summary").click()
    page.get_by_role("button", name=preset, exact=True).click()


def call_add(page: Page) -> None:
    page.locator("#list-tools").click()
    page.locator("#tools-list").get_by_role("button", name="Use add", exact=True).click()
    page.get_by_label("a (required) · integer").fill("20")
    page.get_by_label("b (required) · integer").fill("22")
    page.locator("#call-tool").click()
    expect(page.locator("#result-content")).to_have_text("42")
    expect(page.locator("#structured")).to_contain_text("42")
    expect(page.locator("#exchanges li").first).to_contain_text("tools/call")


def test_create_use_change_and_delete_an_adapter(pages: Pages, service: ServiceProcess) -> None:
    page = pages.open(service)
    response = page.goto("/")
    assert response is not None
    # It all runs under the strict policy: a violation would be a console error.
    assert "script-src 'self';" in response.headers["content-security-policy"]
    expect(page).to_have_url(re.compile(r"/portal/#/adapters$"))
    expect(page.locator("#empty-state")).to_be_visible()
    check_view(page, "empty")

    # Create from the local demo template, reviewed first.
    page.get_by_role("link", name="create one from an example").click()
    page.get_by_label("Start from").select_option("local-demo")
    expect(page.get_by_label("Name", exact=True)).to_have_value("demo")
    page.get_by_role("button", name="Review", exact=True).click()
    review = page.locator("#review")
    expect(review).to_contain_text("Create adapter demo")
    expect(review.locator("table.plan")).to_contain_text("demo-0")
    expect(review).to_contain_text("No policy findings.")
    check_view(page, "review")
    page.locator("#apply").click()

    # Ready without a reload.
    expect(page).to_have_url(re.compile(r"#/adapters/demo$"))
    expect(page.locator("#phase")).to_have_text("Ready", timeout=READY)
    expect(page.locator("#conditions")).to_contain_text("Ready")
    check_view(page, "adapter")

    # The console, in both eras.
    page.locator("#open-console").click()
    expect(page.get_by_label("Protocol era")).to_have_value("2026-07-28")
    call_add(page)
    page.get_by_label("Protocol era").select_option("2025-11-25")
    call_add(page)
    expect(page.locator("#session-state")).to_have_text("Session open.")
    page.locator("#tools-list").get_by_role("button", name="Use stderr", exact=True).click()
    page.get_by_label("message (required) · string").fill("portal-stderr-marker")
    page.locator("#call-tool").click()
    expect(page.locator("#result-content")).to_have_text("written to stderr")
    check_view(page, "console")
    page.locator("#end-session").click()
    expect(page.locator("#session-state")).to_have_text("No session yet: the first request opens one.")

    # Its stderr is in the replica's log.
    page.get_by_role("link", name="Back to demo").click()
    page.locator("#follow").click()
    expect(page.locator("#replica-log")).to_contain_text("portal-stderr-marker")
    page.locator("#follow").click()

    # Change the replica count: reviewed, applied, converged.
    page.locator("#edit").click()
    replicas = page.get_by_label("Replicas", exact=True)
    expect(replicas).to_have_value("1")
    replicas.fill("2")
    page.get_by_role("button", name="Review", exact=True).click()
    expect(page.locator("#change-summary")).to_contain_text("Update adapter demo")
    expect(page.locator("#review table.plan")).to_contain_text("demo-1")
    page.locator("#apply").click()
    expect(page.locator("#summary")).to_contain_text("2 of 2 replicas ready", timeout=READY)
    newest = page.locator("#operations tbody tr").first
    expect(newest.locator('[data-label="Generation"]')).to_have_text("2")
    expect(newest.locator('[data-label="Outcome"]')).to_have_text("succeeded")

    # Delete, typing the name.
    page.locator("#delete").click()
    confirm = page.locator("#confirm-delete")
    expect(confirm).to_be_disabled()
    page.get_by_label("Type demo to confirm").fill("demo")
    confirm.click()
    expect(page).to_have_url(re.compile(r"#/adapters$"), timeout=READY)
    expect(page.locator("#empty-state")).to_be_visible()
    assert service.api().get("/adapters").json() == []


def test_who_sees_and_may_change_an_adapter(pages: Pages, service: ServiceProcess) -> None:
    with service.api() as api:
        created = api.post("/adapters", json=everything_spec("shared", requiredRoles=["mcp.reader"]))
        assert created.status_code == 201, created.text
        wait_for(lambda: api.get("/adapters/shared").json()["status"]["phase"] == "Ready", what="shared to be Ready")
    page = pages.open(service)
    page.goto("/portal/")
    row = page.locator('#adapters-table tr[data-name="shared"]')
    expect(row).to_contain_text("Ready")
    check_view(page, "list")

    act_as(page, "Another user")
    expect(page.locator("#current-user")).to_have_text("another-user")
    expect(page.locator("#empty-state")).to_be_visible()
    expect(row).to_have_count(0)

    # Anyone, typed in: a role in requiredRoles is what lets them see it.
    page.locator(".identity-menu summary").click()
    page.get_by_label("User", exact=True).fill("someone")
    page.get_by_label("Roles (comma-separated)").fill("other.role, mcp.reader")
    page.get_by_role("button", name="Act as").click()
    expect(page.locator("#current-user")).to_have_text("someone")
    expect(page.locator("#current-roles")).to_have_text(" (other.role, mcp.reader)")
    expect(row).to_contain_text("Ready")

    act_as(page, "Reader")
    expect(page.locator("#current-user")).to_have_text("reader")
    page.reload()  # the choice lives in sessionStorage
    expect(page.locator("#current-user")).to_have_text("reader")
    row.get_by_role("link", name="shared").click()
    expect(page.locator("#phase")).to_have_text("Ready")
    expect(page.locator("#open-console")).to_be_visible()
    expect(page.locator("#edit")).to_have_count(0)
    expect(page.locator("#delete")).to_have_count(0)
    page.locator("#open-console").click()
    call_add(page)
    # Arguments as JSON: the fallback for what the generated form cannot express.
    page.locator("#tools-list").get_by_role("button", name="Use echo", exact=True).click()
    page.get_by_label("Edit the arguments as JSON").check()
    page.get_by_label("Arguments as JSON", exact=True).fill('{"message": "from a reader"}')
    page.locator("#call-tool").click()
    expect(page.locator("#result-content")).to_have_text("from a reader")
    # A call the server refuses shows its error.
    page.get_by_label("Arguments as JSON", exact=True).fill("{}")
    page.locator("#call-tool").click()
    expect(page.locator("#result-error")).to_be_visible()
    expect(page.locator("#result")).to_contain_text("message")


def test_the_views_fit_a_phone(pages: Pages, service: ServiceProcess) -> None:
    with service.api() as api:
        for name in ("phone-one", "phone-two"):
            assert api.post("/adapters", json=everything_spec(name)).status_code == 201
    page = pages.open(service, width=390, height=844)
    page.goto("/portal/")
    expect(page.locator("#adapters-table tbody tr")).to_have_count(2)
    expect(page.locator('tr[data-name="phone-two"]')).to_be_visible()
    page.get_by_label("Filter").fill("two")
    expect(page.locator('tr[data-name="phone-one"]')).to_be_hidden()
    expect(page.locator('tr[data-name="phone-two"]')).to_be_visible()
    page.get_by_label("Filter").fill("")
    for name in ("phone-one", "phone-two"):
        expect(page.locator(f'tr[data-name="{name}"] [data-label="Phase"]')).to_have_text("Ready", timeout=READY)
    check_view(page, "list-phone", 390)
    page.goto("/portal/#/new/local-demo")
    expect(page.get_by_label("Name", exact=True)).to_have_value("demo")
    check_view(page, "new-phone", 390)
    page.goto("/portal/#/adapters/phone-one")
    expect(page.locator("#phase")).to_have_text("Ready")
    check_view(page, "adapter-phone", 390)
    page.goto("/portal/#/adapters/phone-one/console")
    call_add(page)
    check_view(page, "console-phone", 390)


def test_the_api_errors_show_next_to_the_fields(pages: Pages, service: ServiceProcess) -> None:
    pages.expect_error(f"status of 422 (Unprocessable Entity) (http://127.0.0.1:{service.port}/adapters?dryRun=true)")
    page = pages.open(service)
    page.goto("/portal/#/new")
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    name = page.get_by_label("Name", exact=True)
    name.fill("Bad_Name")
    page.get_by_role("button", name="Review", exact=True).click()
    expect(page.locator("#name-error")).to_contain_text("Lowercase letters")
    expect(name).to_have_attribute("aria-invalid", "true")
    name.fill("fine")
    page.get_by_label("Replicas", exact=True).fill("0")
    page.get_by_role("button", name="Review", exact=True).click()
    expect(page.locator("#replicaCount-error")).to_contain_text("at least 1")
    page.get_by_label("Replicas", exact=True).fill("1")
    # The service's own message: a variable MCP_ARGS without MCP_COMMAND.
    page.locator("#add-env").click()
    page.locator(".env-name").last.fill("MCP_ARGS")
    page.locator(".env-value").last.fill("--help")
    page.get_by_role("button", name="Review", exact=True).click()
    expect(page.locator("#environmentVariables-error")).to_contain_text("MCP_ARGS is set without MCP_COMMAND")
    # Secrets go in a password field, and the JSON text never shows them.
    page.locator("#add-env").click()
    page.locator(".env-name").last.fill("API_TOKEN")
    secret = page.locator(".env-value").last
    secret.fill("s3cr3t-value")
    expect(secret).to_have_attribute("type", "password")
    # The tabs work from the keyboard.
    page.get_by_role("tab", name="Form").focus()
    page.keyboard.press("ArrowRight")
    expect(page.get_by_role("tab", name="JSON")).to_be_focused()
    expect(page.get_by_role("tab", name="JSON")).to_have_attribute("aria-selected", "true")
    text = page.locator("#spec-json").input_value()
    assert '"API_TOKEN": "<hidden: typed in the form>"' in text
    assert "s3cr3t-value" not in text
    # The JSON text edits the form too; what the server manages is left out.
    page.get_by_label("Adapter JSON").fill(
        '{"name": "from-json", "imageName": "mcp-proxy", "imageVersion": "2.0.0", "replicaCount": 3, "generation": 7}'
    )
    expect(page.locator("#spec-json-error")).to_have_text("Left out what the server manages: generation.")
    page.get_by_role("tab", name="Form").click()
    expect(page.get_by_label("Name", exact=True)).to_have_value("from-json")
    expect(page.get_by_label("Version")).to_have_value("2.0.0")
    expect(page.get_by_label("Replicas", exact=True)).to_have_value("3")
    expect(page.locator(".env-row")).to_have_count(0)
    assert service.api().get("/adapters").json() == []


def test_a_mandatory_finding_disables_apply(pages: Pages, start_service: Callable[..., ServiceProcess]) -> None:
    # A platform that trusts only npx: the local demo runs this checkout's Python, so its review refuses it.
    service = start_service(MCP_ADAPTERS_TRUSTED_SERVERS='{"commands": ["npx"]}')
    page = pages.open(service)
    page.goto("/portal/#/new/local-demo")
    expect(page.get_by_label("Name", exact=True)).to_have_value("demo")
    page.get_by_role("button", name="Review", exact=True).click()
    finding = page.locator("#review .finding-mandatory").first  # the render's rule and admission's check
    expect(finding).to_contain_text("trusted-servers")
    expect(page.locator("#apply")).to_be_disabled()
    expect(page.locator("#apply-blocked")).to_contain_text("Apply is disabled: trusted-servers (mandatory) says")
    # Changing the adapter withdraws the review.
    page.get_by_label("Replicas", exact=True).fill("2")
    expect(page.locator("#review")).to_have_count(0)


def test_a_secret_is_never_shown_back(pages: Pages, service: ServiceProcess) -> None:
    spec = everything_spec("keeper", description="keeps a secret", secretEnvironmentVariables=["PLAIN_LOOKING"])
    spec["environmentVariables"] |= {"API_TOKEN": "the-real-secret", "PLAIN_LOOKING": "another-secret"}
    with service.api() as api:
        assert api.post("/adapters", json=spec).status_code == 201
    page = pages.open(service)
    page.goto("/portal/#/adapters/keeper")
    expect(page.locator("dl.spec")).to_contain_text("API_TOKEN = •••• (secret)")
    page.locator("#edit").click()
    secret = page.locator('.env-row:has(.env-name[value="API_TOKEN"]) .env-value')
    expect(secret).to_have_attribute("placeholder", "•••• unchanged")
    expect(secret).to_have_attribute("type", "password")
    expect(secret).to_have_value("")
    # Sent back as <redacted>, the stored value is kept: nothing changes.
    page.get_by_role("button", name="Review", exact=True).click()
    expect(page.locator("#change-summary")).to_contain_text("No change to adapter keeper")
    page.get_by_label("Description").fill("still keeps it")
    page.get_by_role("button", name="Review", exact=True).click()
    expect(page.locator("#change-summary")).to_contain_text("Update adapter keeper")
    page.locator("#apply").click()
    expect(page.locator("dl.spec")).to_contain_text("still keeps it")
    assert "the-real-secret" not in page.content()
    with service.api() as api:
        adapter = api.get("/adapters/keeper").json()
    assert adapter["generation"] == 2
    assert adapter["secretEnvironmentVariables"] == ["PLAIN_LOOKING"]
    assert (
        adapter["environmentVariables"]["API_TOKEN"] == adapter["environmentVariables"]["PLAIN_LOOKING"] == "<redacted>"
    )
    # The server still gets the real values.
    with service.api() as api:

        def converged() -> bool:
            status = api.get("/adapters/keeper/status").json()
            return bool(status["observedGeneration"] == 2 and status["phase"] == "Ready")

        wait_for(converged, what="the change")
        for name, value in (("API_TOKEN", "the-real-secret"), ("PLAIN_LOOKING", "another-secret")):
            answer = modern_call(
                api, "/adapters/keeper/mcp", "tools/call", {"name": "env", "arguments": {"name": name}}
            )
            [message] = messages_of(answer)
            assert message["result"]["structuredContent"]["value"] == value


def test_sign_in_with_entra_id(pages: Pages, start_service: Callable[..., ServiceProcess]) -> None:
    port = free_port()
    redirect = f"http://127.0.0.1:{port}/portal/"
    provider = IdentityProvider(Keys(), clients={"portal-client": [redirect]}, user="carol", roles=["mcp.admin"])
    provider.start()
    try:
        service = start_service(
            port=port,
            MCP_ADAPTERS_ENTRA_ISSUERS=provider.issuer,
            MCP_ADAPTERS_ENTRA_AUDIENCES=AUDIENCE,
            MCP_ADAPTERS_ENTRA_JWKS_URL=provider.jwks_url,
            MCP_ADAPTERS_PORTAL_CLIENT_ID="portal-client",
            MCP_ADAPTERS_TRUSTED_SERVERS='{"commands": ["npx"]}',
        )
        page = pages.open(service)
        page.goto("/portal/#/adapters")
        expect(page.locator("#sign-in-main")).to_be_visible()
        page.locator("#sign-in-main").click()
        expect(page).to_have_url(re.compile(r"/portal/#/adapters$"))
        expect(page.locator("#current-user")).to_have_text("carol")
        expect(page.locator("#empty-state")).to_be_visible()  # the list answered: the token was accepted
        [authorization] = provider.authorizations
        assert authorization["code_challenge_method"] == "S256"
        assert authorization["redirect_uri"] == redirect
        assert "api://mcp-adapters/.default" in authorization["scope"].split()
        [exchange] = provider.token_requests
        assert exchange["code_verifier"]
        assert page.evaluate("Object.keys(localStorage).length") == 0
        assert page.context.cookies() == []
        page.get_by_role("button", name="Sign out").click()
        expect(page.locator("#sign-in-main")).to_be_visible()
        assert page.evaluate("sessionStorage.getItem('mcp-portal.token')") is None
    finally:
        provider.stop()


def test_the_list_stays_in_name_order_as_adapters_come_and_go(pages: Pages, service: ServiceProcess) -> None:
    def record(name: str) -> None:  # an image the local target refuses: listed at once, no process started
        spec = {"name": name, "imageName": "listed-only", "imageVersion": "1"}
        assert service.api().post("/adapters", json=spec).status_code == 201

    for name in ("charlie", "alpha", "bravo"):
        record(name)
    page = pages.open(service)
    page.goto("/portal/#/adapters")
    rows = page.locator("#adapters-table tbody tr")
    expect(rows).to_have_count(3)
    for name in ("aardvark", "zulu", "bravo-two"):  # before all, after all, and between: seen on the next poll
        record(name)
    assert service.api().delete("/adapters/alpha").status_code == 202
    expected = ["aardvark", "bravo", "bravo-two", "charlie", "zulu"]
    expect(rows).to_have_count(len(expected), timeout=30_000)
    assert [rows.nth(i).get_attribute("data-name") for i in range(len(expected))] == expected
