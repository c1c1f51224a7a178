"""The demo page's second factor in headless Chromium (Debian's `chromium`, driven by Playwright):
sign up, set up an authenticator app from the secret the page shows (codes computed here with
pyotp, independent of the server), see the ten backup codes once, sign out; sign in with the
password and be asked for the second factor, give the app's code, be signed in; sign out, sign in
with a backup code; then turn the app off and sign in with the password alone. scripts/test_dx
runs it against its dev server (SESAME_URL); under CI=true it fails rather than skip."""

import os
import re
import sys
import time
from pathlib import Path

import pyotp
from playwright.sync_api import expect, sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_demo import sign_up  # noqa: E402  (the same sign-up through the page)

BASE = os.environ.get("SESAME_URL")
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[2]
SCREENSHOT = ROOT / "target" / "demo-two-factor.png"
PASSWORD = "analytical engine"


def sign_out(page):
    page.get_by_role("button", name="Sign out", exact=True).click()
    expect(page.get_by_role("heading", name="Welcome back")).to_be_visible()


def password_sign_in(page, email):
    page.get_by_label("Email, phone or username").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_role("heading", name="Two-step verification")).to_be_visible()
    # Not signed in yet: no signin, no account chip.
    expect(page.locator("#accounts .chip[aria-pressed]")).to_have_count(0)


def main():
    if not BASE:
        if os.environ.get("CI") == "true":
            sys.exit("SESAME_URL is not set: under CI=true the browser test must run")
        print("SESAME_URL unset: skipping the browser test (scripts/test_dx sets it)")
        return
    if not os.access(CHROMIUM, os.X_OK):
        sys.exit(f"{CHROMIUM} is missing: apt-get install chromium (scripts/test_dx does)")
    email = f"ada-2fa-{os.getpid()}-{int(time.time())}@example.com"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1100, "height": 1000})
        page.on("pageerror", lambda e: print(f"page error: {e}", file=sys.stderr))
        page.on("console", lambda m: m.type == "error" and print(f"console: {m.text}", file=sys.stderr))
        page.goto(BASE + "/")
        sign_up(page, "Ada", "Lovelace", email, PASSWORD)

        panel = page.locator("#two-factor")
        expect(panel.get_by_test_id("two-factor-status")).to_contain_text("Off")
        expect(panel.locator("#phone-factor")).to_be_disabled()  # no verified phone

        # Enroll: the QR code and the secret, confirmed with the app's current code.
        panel.get_by_role("button", name="Set up authenticator app").click()
        qr = panel.get_by_role("img", name="QR code for your authenticator app")
        expect(qr).to_be_visible()
        assert qr.get_attribute("src").startswith("data:image/svg+xml"), "the QR code is the SVG"
        secret = panel.get_by_test_id("totp-secret").inner_text().strip()
        assert re.fullmatch(r"[A-Z2-7]{32}", secret), secret
        app = pyotp.TOTP(secret)
        panel.get_by_label("Code from the app").fill(app.now())
        panel.get_by_role("button", name="Turn on").click()

        codes = panel.get_by_test_id("backup-codes").locator("li")
        expect(codes).to_have_count(10)
        backup = [c.strip() for c in codes.all_inner_texts()]
        assert len(set(backup)) == 10, backup
        expect(panel.get_by_test_id("two-factor-status")).to_contain_text("authenticator app")
        expect(panel.get_by_test_id("two-factor-status")).to_contain_text("10 backup codes left")
        expect(panel.get_by_test_id("totp-secret")).to_have_count(0)
        # Shown once: after "I saved them" (or a reload) neither the codes nor the secret are on the page.
        panel.get_by_role("button", name="I saved them").click()
        expect(panel.get_by_test_id("backup-codes")).to_have_count(0)
        page.reload()
        expect(page.locator("#two-factor").get_by_test_id("two-factor-status")).to_contain_text("10 backup codes left")
        content = page.content()
        assert secret not in content and backup[0] not in content, "a secret is on the page after enrollment"

        # Sign in again: the password is not enough; a wrong code is refused; the app's code is.
        sign_out(page)
        password_sign_in(page, email)
        picker = page.get_by_role("radiogroup", name="How to verify")
        expect(picker.get_by_role("radio")).to_have_count(2)
        expect(picker.get_by_role("radio", name="Authenticator app")).to_have_attribute("aria-checked", "true")
        # The enrollment code's 30-second step is spent; the next step's code is valid one step early.
        code = app.at(time.time() + 30)
        wrong = "000000" if code != "000000" else "111111"
        page.locator("#second-factor-code").fill(wrong)
        page.get_by_role("button", name="Verify").click()
        expect(page.locator("#toast")).to_be_visible()
        expect(page.get_by_role("heading", name="Two-step verification")).to_be_visible()
        page.locator("#second-factor-code").fill(code)
        page.get_by_role("button", name="Verify").click()
        expect(page.locator("#who")).to_have_text("Ada Lovelace")
        cookies = {c["name"] for c in page.context.cookies()}
        assert "__Host-session" in cookies, cookies

        # And with a backup code.
        sign_out(page)
        password_sign_in(page, email)
        page.get_by_role("radio", name="Backup code").click()
        expect(page.get_by_role("radio", name="Backup code")).to_have_attribute("aria-checked", "true")
        page.get_by_label("Backup code").fill(backup[0])
        page.get_by_role("button", name="Verify").click()
        expect(page.locator("#who")).to_have_text("Ada Lovelace")
        status = page.locator("#two-factor").get_by_test_id("two-factor-status")
        expect(status).to_contain_text("9 backup codes left")
        SCREENSHOT.parent.mkdir(exist_ok=True)
        page.screenshot(path=str(SCREENSHOT), full_page=True)

        # Turn the app off (just signed in: no reverification asked); the password alone is enough again.
        page.locator("#two-factor").get_by_role("button", name="Turn off authenticator app").click()
        expect(status).to_contain_text("Off")
        sign_out(page)
        page.get_by_label("Email, phone or username").fill(email)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in", exact=True).click()
        expect(page.locator("#who")).to_have_text("Ada Lovelace")
        browser.close()
    print(f"two-factor browser test passed; screenshot in {SCREENSHOT}")


if __name__ == "__main__":
    main()
