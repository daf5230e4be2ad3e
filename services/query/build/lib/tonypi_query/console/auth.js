// Sign-in: a pasted API token, or the identity provider's authorization-code flow with PKCE
// (a public client: the code verifier never leaves this tab; WebCrypto does the hashing).
import { api, setToken } from "./api.js";

const PKCE_KEY = "tonypi.console.pkce";

function base64url(bytes) {
  let text = "";
  for (const byte of bytes) text += String.fromCharCode(byte);
  return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function randomText(size = 32) {
  return base64url(crypto.getRandomValues(new Uint8Array(size)));
}

function redirectUri() {
  return `${location.origin}/console/`;
}

/** The caller as the API sees it ({name, role, via}); throws ApiError (401) for a bad token. */
export async function whoami() {
  return (await api("whoami")).data;
}

export async function signInWithToken(value) {
  setToken(value.trim());
  try {
    return await whoami();
  } catch (error) {
    setToken(null);
    throw error;
  }
}

export function signOut() {
  setToken(null);
  sessionStorage.removeItem(PKCE_KEY);
}

/** Off to the identity provider; it sends the browser back to /console/?code=..&state=.. */
export async function startOidc(oidc) {
  const verifier = randomText(48);
  const state = randomText(16);
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier));
  sessionStorage.setItem(PKCE_KEY, JSON.stringify({ verifier, state }));
  const url = new URL(oidc.authorize_url);
  url.searchParams.set("response_type", "code");
  url.searchParams.set("client_id", oidc.client_id);
  url.searchParams.set("redirect_uri", redirectUri());
  url.searchParams.set("scope", oidc.scope);
  url.searchParams.set("state", state);
  url.searchParams.set("code_challenge", base64url(new Uint8Array(digest)));
  url.searchParams.set("code_challenge_method", "S256");
  if (oidc.audience) url.searchParams.set("audience", oidc.audience);
  location.assign(url.href);
}

/** Back from the identity provider: the code exchanged for an access token. Null if this
 * page load is not a sign-in's return. */
export async function finishOidc(oidc) {
  const params = new URLSearchParams(location.search);
  if (!params.has("code") && !params.has("error")) return null;
  history.replaceState(null, "", "/console/"); // the code is single-use: off the address bar
  const saved = JSON.parse(sessionStorage.getItem(PKCE_KEY) || "null");
  sessionStorage.removeItem(PKCE_KEY);
  if (params.has("error")) throw new Error(`the identity provider refused: ${params.get("error")}`);
  if (!oidc || !saved || saved.state !== params.get("state")) {
    throw new Error("this sign-in was not started here (state does not match); sign in again");
  }
  const response = await fetch(oidc.token_url, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      grant_type: "authorization_code",
      code: params.get("code"),
      redirect_uri: redirectUri(),
      client_id: oidc.client_id,
      code_verifier: saved.verifier,
    }),
  });
  const body = await response.json().catch(() => ({}));
  if (!response.ok || typeof body.access_token !== "string") {
    throw new Error(`the identity provider did not issue a token (${response.status})`);
  }
  return signInWithToken(body.access_token);
}
