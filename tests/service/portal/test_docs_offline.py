"""`/docs` works with no internet: every asset comes from the service, under a strict Content-Security-Policy."""

from __future__ import annotations

from typing import Any


def test_the_api_docs_render_from_the_service_alone(start_service: Any, browser: Any) -> None:
    service = start_service()
    page = browser.new_page()
    errors: list[str] = []
    elsewhere: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))

    def only_here(route: Any) -> None:  # as on an air-gapped cluster: anything not from the service fails
        if route.request.url.startswith(service.url):
            route.continue_()
        else:
            elsewhere.append(route.request.url)
            route.abort()

    page.route("**/*", only_here)
    response = page.goto(f"{service.url}/docs")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    page.locator(".opblock").first.wait_for(timeout=15_000)
    assert page.locator(".opblock-summary-path", has_text="/adapters/{name}/mcp").count() >= 1
    assert (elsewhere, errors) == ([], [])
    page.close()
