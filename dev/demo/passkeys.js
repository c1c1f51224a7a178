// The demo page's passkeys (issue 16), in a section of their own (#passkeys): "Sign in with a
// passkey" when no account is active, "Add a passkey" and the list when one is. It follows the
// main view (#view) and reloads the page after a sign-in so every part shows the new session.
import { Sesame, SesameError } from "/client/index.js";

const sesame = new Sesame({ baseUrl: location.origin, mode: "cookie" });
const section = document.getElementById("passkeys");
const view = document.getElementById("view");

const say = (text) => {
  const status = section.querySelector("#passkey-status");
  if (status) status.textContent = text;
};
const failure = (e) => (e instanceof SesameError ? e.errors.map((x) => x.message).join(" · ") || e.message : String(e));

function button(label, onclick) {
  const b = document.createElement("button");
  b.type = "button";
  b.className = "secondary";
  b.textContent = label;
  b.addEventListener("click", onclick);
  return b;
}

async function render() {
  const session = await sesame.session().catch(() => null);
  const heading = document.createElement("h2");
  heading.textContent = "Passkeys";
  const status = document.createElement("p");
  status.id = "passkey-status";
  status.className = "muted";
  status.setAttribute("role", "status");
  if (!window.PublicKeyCredential) {
    status.textContent = "This browser has no WebAuthn.";
    section.replaceChildren(heading, status);
    return;
  }
  if (!session?.active_signin) {
    const signIn = button("Sign in with a passkey", async () => {
      say("Waiting for your authenticator…");
      try {
        await sesame.signInWithPasskey();
        location.reload();
      } catch (e) {
        say(`Passkey sign-in failed: ${failure(e)}`);
      }
    });
    section.replaceChildren(heading, signIn, status);
    return;
  }
  const list = document.createElement("ul");
  list.id = "passkey-list";
  const passkeys = await sesame.passkeys().catch(() => []);
  for (const p of passkeys) {
    const item = document.createElement("li");
    item.className = "passkey";
    item.textContent = `${p.name} · added ${new Date(p.created_at).toLocaleDateString()}${p.last_used_at ? " · used" : ""} `;
    item.append(button("Delete", async () => {
      try {
        await sesame.deletePasskey(p.id);
        await render();
      } catch (e) {
        say(`Deleting failed: ${failure(e)}`);
      }
    }));
    list.append(item);
  }
  const name = document.createElement("input");
  name.id = "passkey-name";
  name.value = "This device";
  name.setAttribute("aria-label", "Passkey name");
  const add = button("Add a passkey", async () => {
    say("Waiting for your authenticator…");
    try {
      await sesame.addPasskey(name.value);
      await render();
      say("Passkey added.");
    } catch (e) {
      say(`Adding a passkey failed: ${failure(e)}`);
    }
  });
  section.replaceChildren(heading, list, name, add, status);
}

// The main view re-renders after every action: follow it (sign-in, sign-out, switching account).
let queued = null;
new MutationObserver(() => {
  clearTimeout(queued);
  queued = setTimeout(render, 50);
}).observe(view, { childList: true });
await render();
