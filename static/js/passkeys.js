// Passkeys (WebAuthn): adding one on the security page, and signing in with one on the
// sign-in page (alone) or after the password (the second step). The blog sends the
// options and checks the answers (kmblog/auth/passkey_views.py); this script only
// carries them between it and the browser's navigator.credentials.
// In a browser without passkeys nothing here shows, and the pages say why.
document.addEventListener("DOMContentLoaded", () => {
  const supported =
    window.PublicKeyCredential !== undefined && navigator.credentials && window.fetch;
  const adders = document.querySelectorAll("form.passkey-add");
  const signIns = document.querySelectorAll(".passkey-sign-in");
  if (!supported || (adders.length === 0 && signIns.length === 0)) return;
  for (const note of document.querySelectorAll(".passkey-unsupported")) note.hidden = true;

  // base64url <-> bytes, for browsers without PublicKeyCredential's JSON helpers.
  const toBytes = (text) => {
    const base64 = text.replace(/-/g, "+").replace(/_/g, "/");
    const binary = atob(base64 + "=".repeat((4 - (base64.length % 4)) % 4));
    return Uint8Array.from(binary, (c) => c.charCodeAt(0)).buffer;
  };
  const toText = (buffer) => {
    let binary = "";
    for (const byte of new Uint8Array(buffer)) binary += String.fromCharCode(byte);
    return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  };
  const withIds = (list) => (list || []).map((item) => ({ ...item, id: toBytes(item.id) }));

  const creationOptions = (json) => {
    if (PublicKeyCredential.parseCreationOptionsFromJSON) {
      return PublicKeyCredential.parseCreationOptionsFromJSON(json);
    }
    return {
      ...json,
      challenge: toBytes(json.challenge),
      user: { ...json.user, id: toBytes(json.user.id) },
      excludeCredentials: withIds(json.excludeCredentials),
    };
  };
  const requestOptions = (json) => {
    if (PublicKeyCredential.parseRequestOptionsFromJSON) {
      return PublicKeyCredential.parseRequestOptionsFromJSON(json);
    }
    return {
      ...json,
      challenge: toBytes(json.challenge),
      allowCredentials: withIds(json.allowCredentials),
    };
  };
  const credentialJSON = (credential) => {
    if (typeof credential.toJSON === "function") return credential.toJSON();
    const answer = credential.response;
    const json = {
      id: credential.id,
      rawId: toText(credential.rawId),
      type: credential.type,
      authenticatorAttachment: credential.authenticatorAttachment || null,
      clientExtensionResults: credential.getClientExtensionResults(),
      response: { clientDataJSON: toText(answer.clientDataJSON) },
    };
    if (answer.attestationObject) {
      json.response.attestationObject = toText(answer.attestationObject);
      json.response.transports = answer.getTransports ? answer.getTransports() : [];
    } else {
      json.response.authenticatorData = toText(answer.authenticatorData);
      json.response.signature = toText(answer.signature);
      json.response.userHandle = answer.userHandle ? toText(answer.userHandle) : null;
    }
    return json;
  };

  // What the author reads when it did not work: the blog's reason, or the browser's.
  class Refused extends Error {}
  const post = async (url, token, body) => {
    let response;
    try {
      response = await fetch(url, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": token },
        body: JSON.stringify(body),
      });
    } catch {
      throw new Refused("The blog could not be reached. Check your connection and try again.");
    }
    const json = await response.json().catch(() => null);
    if (response.ok && json) return json;
    if (json && json.error) throw new Refused(json.error);
    if (response.status === 429) {
      throw new Refused("Too many attempts. Wait a minute, then try again.");
    }
    throw new Refused("The page has expired. Reload it and try again.");
  };
  const explain = (error, creating) => {
    if (error instanceof Refused) return error.message;
    if (error && error.name === "NotAllowedError") {
      return "The passkey was not used: cancelled, or it took too long. Nothing was changed.";
    }
    if (error && error.name === "InvalidStateError" && creating) {
      return "This device already holds one of your passkeys: there is nothing to add.";
    }
    if (error && error.name === "SecurityError") {
      return "Passkeys do not work at this address of the blog. Ask the blog's operator.";
    }
    return "The passkey did not work. Try again, or sign in another way.";
  };
  const tokenIn = (element) => {
    const field = element.querySelector("input[name=csrf_token]");
    return field ? field.value : "";
  };

  for (const form of adders) {
    const status = form.querySelector(".passkey-status");
    const name = form.elements.namedItem("name");
    const button = form.querySelector("button[type=submit]");
    form.hidden = false;
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      if (!name.value.trim()) {
        status.textContent = "Give the passkey a name, such as the device it is on.";
        name.focus();
        return;
      }
      button.disabled = true;
      status.textContent = "Follow your browser's steps to make the passkey…";
      try {
        const token = tokenIn(form);
        const options = await post(form.dataset.optionsUrl, token, {});
        const credential = await navigator.credentials.create({
          publicKey: creationOptions(options),
        });
        const done = await post(form.dataset.registerUrl, token, {
          name: name.value,
          credential: credentialJSON(credential),
        });
        window.location.assign(done.next);
      } catch (error) {
        status.textContent = explain(error, true);
        button.disabled = false;
      }
    });
  }

  for (const box of signIns) {
    const status = box.querySelector(".passkey-status");
    const button = box.querySelector("button");
    box.hidden = false;
    button.addEventListener("click", async () => {
      button.disabled = true;
      status.textContent = "Follow your browser's steps to use your passkey…";
      try {
        const token = tokenIn(box.parentElement);
        const options = await post(box.dataset.optionsUrl, token, {
          purpose: box.dataset.purpose,
        });
        const credential = await navigator.credentials.get({
          publicKey: requestOptions(options),
        });
        const done = await post(box.dataset.signInUrl, token, {
          credential: credentialJSON(credential),
          next: box.dataset.next || "",
        });
        window.location.assign(done.next);
      } catch (error) {
        status.textContent = explain(error, false);
        button.disabled = false;
      }
    });
  }
});
