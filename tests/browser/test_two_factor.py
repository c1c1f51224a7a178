"""The demo page's second factor in headless Chromium (Debian's `chromium`, driven by Playwright):
sign up, set up an authenticator app from the secret the page shows (codes computed here with
pyotp, independent of the server) after the page's reverification prompt, see the ten backup codes
once, sign out; sign in with the password and be asked for the second factor, give the app's code,
be signed in; sign in with a backup code; through the OpenID provider (the page resumes at the
second factor when the provider sends the browser back); with an emailed code; new backup codes after a reverification
with the authenticator app's code (the password is not offered to a user with a second factor);
the SMS factor switched on after a reverification with a backup code, and a sign-in with the
texted code; the authenticator app turned off after a reverification by texted code; both
factors off and the password alone signs in. scripts/test_dx runs it against its dev server (SESAME_URL,
OIDC_ENDPOINT); under CI=true it fails rather than skip any part."""

import json
import os
import random
import re
import sys
import time
from pathlib import Path

import pyotp
from playwright.sync_api import expect, sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_demo import sign_up  # noqa: E402  (the same sign-up through the page)

BASE = os.environ.get("SESAME_URL")
OIDC = os.environ.get("OIDC_ENDPOINT")  # the dev server's provider `mock` (scripts/test_dx)
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


def outbox_code(page, to):
    """The newest 6-digit code the dev outbox holds for `to`."""
    messages = page.request.get(BASE + "/dev/outbox").json()
    for m in messages:
        if m["to"] == to:
            found = re.search(r"\b(\d{6})\b", m["body"])
            if found:
                return found.group(1)
    raise AssertionError(f"no code for {to} in the outbox")


def next_totp(app, spent):
    """The step after `spent` and its code: a TOTP step is accepted once, and the server takes the
    next step's code one step early, so this waits (at most one 30-second step) until that step is
    within the server's window."""
    while int(time.time()) // 30 < spent:
        time.sleep(1)
    return spent + 1, app.at((spent + 1) * 30)


def stub_stale(page, url, refused):
    """The next POST/DELETE to `url` answers 403 REVERIFICATION_REQUIRED (the signin is seconds
    old, and REVERIFY_MINUTES counts whole minutes), then the server answers again."""
    stale = {"status": 403, "message": "verify again", "data": None, "session": None,
             "errors": [{"code": "REVERIFICATION_REQUIRED", "message": "verify again", "field": None}]}

    def once(route):
        if route.request.method in ("POST", "DELETE") and not refused:
            refused.append(route.request.url)
            return route.fulfill(status=403, content_type="application/json", body=json.dumps(stale))
        return route.continue_()

    page.route(url, once)


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

        # Enroll: the QR code and the secret, confirmed with the app's current code. The first
        # POST /me/totp is answered 403 REVERIFICATION_REQUIRED here (the signin is seconds old,
        # and REVERIFY_MINUTES counts whole minutes): the page asks for the password,
        # reverifies with the server, and retries.
        refused = []
        stub_stale(page, BASE + "/me/totp", refused)
        reverified = []
        page.on("response", lambda r: r.url.endswith("/auth/reverify") and reverified.append(r.status))
        panel.get_by_role("button", name="Set up authenticator app").click()
        prompt = panel.get_by_test_id("reverify")
        expect(prompt).to_contain_text("Confirm it's you to set up an authenticator app")
        prompt.get_by_label("Password").fill("not the password")
        prompt.get_by_role("button", name="Confirm").click()
        expect(page.locator("#toast")).to_be_visible()
        # Re-rendered, still asking (the toast shows before the page draws again).
        expect(prompt.get_by_label("Password")).to_have_value("")
        prompt.get_by_label("Password").fill(PASSWORD)
        prompt.get_by_role("button", name="Confirm").click()
        expect(prompt).to_have_count(0)
        assert refused and reverified == [401, 200], (refused, reverified)
        page.unroute(BASE + "/me/totp")
        qr = panel.get_by_role("img", name="QR code for your authenticator app")
        expect(qr).to_be_visible()
        assert qr.get_attribute("src").startswith("data:image/svg+xml"), "the QR code is the SVG"
        secret = panel.get_by_test_id("totp-secret").inner_text().strip()
        assert re.fullmatch(r"[A-Z2-7]{32}", secret), secret
        app = pyotp.TOTP(secret)
        enrolled_at = time.time()
        spent = int(enrolled_at) // 30  # the step the enrollment's code spends
        panel.get_by_label("Code from the app").fill(app.at(enrolled_at))
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
        spent, code = next_totp(app, spent)
        wrong = "000000" if code != "000000" else "111111"
        page.locator("#second-factor-code").fill(wrong)
        page.get_by_role("button", name="Verify").click()
        expect(page.locator("#toast")).to_be_visible()
        expect(page.get_by_role("heading", name="Two-step verification")).to_be_visible()
        expect(page.locator("#second-factor-code")).to_have_value("")  # drawn again
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
        left = 9

        # OAuth (when the test command's OpenID provider is there, as under scripts/test_dx): the
        # provider proves Ada's email, and the page, back from the provider, resumes the sign-in
        # at its second factor.
        if OIDC:
            sign_out(page)
            sub = f"ada-{os.getpid()}-{int(time.time())}"
            put = page.request.put(f"{OIDC}/users/{sub}", data={"email": email, "email_verified": True})
            assert put.status == 204, put.status
            page.get_by_role("button", name="Continue with mock").click()
            page.locator('input[name="sub"]').fill(sub)
            page.get_by_role("button", name="Authorize").click()
            expect(page.get_by_role("heading", name="Two-step verification")).to_be_visible()
            assert page.url.rstrip("/") == BASE, page.url
            page.get_by_role("radio", name="Backup code").click()
            page.get_by_label("Backup code").fill(backup[1])
            page.get_by_role("button", name="Verify").click()
            expect(page.locator("#who")).to_have_text("Ada Lovelace")
            left = 8
            expect(status).to_contain_text(f"{left} backup codes left")
        elif os.environ.get("CI") == "true":
            sys.exit("OIDC_ENDPOINT is not set: under CI=true the OAuth part must run")

        # A code sign-in: after the emailed code, the second factor.
        sign_out(page)
        page.get_by_label("Email, phone or username").fill(email)
        page.get_by_role("button", name="Email me a code instead").click()
        expect(page.get_by_role("heading", name="Check your inbox")).to_be_visible()
        page.get_by_test_id("outbox").get_by_role("button", name="Use it").click()
        page.get_by_role("button", name="Verify").click()
        expect(page.get_by_role("heading", name="Two-step verification")).to_be_visible()
        page.get_by_role("radio", name="Backup code").click()
        page.get_by_label("Backup code").fill(backup[2])
        page.get_by_role("button", name="Verify").click()
        expect(page.locator("#who")).to_have_text("Ada Lovelace")
        left -= 1
        expect(status).to_contain_text(f"{left} backup codes left")

        # New backup codes, after a reverification with the authenticator app (the first call
        # stubbed 403 again): a user with a second factor is not offered the password or an
        # emailed code; the step the sign-in spent is refused, the next one is accepted.
        refused.clear()
        reverified.clear()
        stub_stale(page, BASE + "/me/backup-codes", refused)
        page.locator("#two-factor").get_by_role("button", name="New backup codes").click()
        prompt = page.get_by_test_id("reverify")
        expect(prompt).to_contain_text("Confirm it's you to replace your backup codes")
        strategies = prompt.get_by_role("radiogroup", name="How to confirm")
        expect(strategies.get_by_role("radio")).to_have_count(2)
        expect(strategies.get_by_role("radio", name="Authenticator app")).to_have_attribute("aria-checked", "true")
        expect(prompt.get_by_label("Password")).to_have_count(0)
        expect(prompt.get_by_role("button", name="Email me a code instead")).to_have_count(0)
        prompt.get_by_label("Authenticator code").fill(code)  # the sign-in's, spent
        prompt.get_by_role("button", name="Confirm").click()
        expect(page.locator("#toast")).to_be_visible()
        expect(prompt.get_by_label("Authenticator code")).to_have_value("")  # drawn again, still asking
        spent, code = next_totp(app, spent)
        prompt.get_by_label("Authenticator code").fill(code)
        prompt.get_by_role("button", name="Confirm").click()
        fresh = page.get_by_test_id("backup-codes").locator("li")
        expect(fresh).to_have_count(10)
        assert refused and reverified == [400, 200], (refused, reverified)
        fresh = [c.strip() for c in fresh.all_inner_texts()]
        assert not set(fresh) & set(backup), "all new codes"
        page.unroute(BASE + "/me/backup-codes")
        page.get_by_role("button", name="I saved them").click()
        expect(status).to_contain_text("10 backup codes left")

        # A verified phone (set through the API with the page's cookie), then the SMS factor on.
        phone = f"+1555{random.randrange(10_000_000):07d}"
        changed = page.request.post(BASE + "/me/phone_number", data={"phone_number": phone})
        assert changed.ok, changed.text()
        verified = page.request.post(BASE + "/me/phone_number/verify", data={"code": outbox_code(page, phone)})
        assert verified.ok, verified.text()
        page.reload()
        toggle = page.locator("#phone-factor")
        expect(toggle).to_be_enabled()
        # Turned on after a reverification with a backup code (stubbed 403 first).
        refused.clear()
        reverified.clear()
        stub_stale(page, BASE + "/me/two-factor/phone", refused)
        toggle.check()
        prompt = page.get_by_test_id("reverify")
        expect(prompt).to_contain_text("Confirm it's you to turn on text-message codes")
        prompt.get_by_role("radio", name="Backup code").click()
        prompt.get_by_label("Backup code").fill(fresh[0])
        prompt.get_by_role("button", name="Confirm").click()
        expect(status).to_contain_text("text messages")
        expect(status).to_contain_text("9 backup codes left")  # spent by the reverification
        expect(toggle).to_be_checked()
        assert refused and reverified == [200], (refused, reverified)
        page.unroute(BASE + "/me/two-factor/phone")
        SCREENSHOT.parent.mkdir(exist_ok=True)
        page.screenshot(path=str(SCREENSHOT), full_page=True)

        # Sign in with a texted code: three strategies now; the page sends it and shows the outbox's.
        sign_out(page)
        password_sign_in(page, email)
        expect(page.get_by_role("radio")).to_have_count(3)
        page.get_by_role("radio", name="Text message").click()
        page.get_by_role("button", name="Text me a code").click()
        hint = page.get_by_test_id("outbox")
        expect(hint).to_be_visible()
        expect(hint).to_contain_text(outbox_code(page, phone))  # the code just texted to the phone
        hint.get_by_role("button", name="Use it").click()
        page.get_by_role("button", name="Verify").click()
        expect(page.locator("#who")).to_have_text("Ada Lovelace")

        # Turn the authenticator app off after a reverification by texted code (the phone is the
        # SMS factor; stubbed 403 first), then the SMS factor (just signed in: no reverification
        # asked); the password alone is enough again.
        panel = page.locator("#two-factor")
        refused.clear()
        reverified.clear()
        stub_stale(page, BASE + "/me/totp", refused)
        panel.get_by_role("button", name="Turn off authenticator app").click()
        prompt = panel.get_by_test_id("reverify")
        expect(prompt).to_contain_text("Confirm it's you to turn off the authenticator app")
        expect(prompt.get_by_role("radio")).to_have_count(3)
        prompt.get_by_role("radio", name="Text message").click()
        prompt.get_by_role("button", name="Text me a code").click()
        expect(prompt).to_contain_text(f"We sent a 6-digit code to {phone}")
        expect(prompt.get_by_test_id("outbox")).to_contain_text(outbox_code(page, phone))
        prompt.get_by_test_id("outbox").get_by_role("button", name="Use it").click()
        prompt.get_by_role("button", name="Confirm").click()
        expect(prompt).to_have_count(0)
        assert refused and reverified == [200], (refused, reverified)
        page.unroute(BASE + "/me/totp")
        expect(status).not_to_contain_text("authenticator app")
        expect(status).to_contain_text("text messages")
        panel.locator("#phone-factor").uncheck()
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
