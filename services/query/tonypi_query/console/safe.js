// Everything a robot (or anyone) chose is rendered through here: as text, never as markup.
// Elements are built with createElement and text nodes; innerHTML is never given data.

// ANSI escape sequences (CSI ... final byte, OSC ... BEL/ST, two-byte escapes): removed.
const ANSI = /\u001b(?:\[[0-?]*[ -/]*[@-~]|\][^\u0007\u001b]*(?:\u0007|\u001b\\)?|[@-Z\\-_])/g;
// Bidirectional overrides and isolates: shown as a visible mark, so they cannot reorder text.
const BIDI = /[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;
// Other control characters (a lone ESC, NUL, BEL, C1 controls): a visible replacement mark.
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;

function codePoint(char) {
  return `[U+${char.codePointAt(0).toString(16).toUpperCase().padStart(4, "0")}]`;
}

/** The text to show for any value: ANSI removed, bidi controls and other controls made visible. */
export function clean(value) {
  if (value === null || value === undefined) return "";
  const text = typeof value === "string" ? value : String(value);
  return text.replace(ANSI, "").replace(BIDI, codePoint).replace(CONTROL, "\uFFFD");
}

/** An http(s) address to link to, or null: `javascript:`, `data:` and the rest never become links. */
export function safeUrl(value) {
  if (typeof value !== "string") return null;
  try {
    const url = new URL(value);
    return url.protocol === "http:" || url.protocol === "https:" ? url.href : null;
  } catch {
    return null;
  }
}

/** createElement with properties and children; string children become text nodes (cleaned). */
export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = clean(value);
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key === "href") {
      const href = value.startsWith("#") ? value : safeUrl(value);
      if (href) node.setAttribute("href", href);
    } else node.setAttribute(key, value === true ? "" : String(value));
  }
  append(node, children);
  return node;
}

export function append(node, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : clean(child));
  }
  return node;
}

/** Set a node's text only when it changed (cheap live updates). */
export function setText(node, value) {
  const text = clean(value);
  if (node.textContent !== text) node.textContent = text;
}

export function clear(node) {
  node.replaceChildren();
  return node;
}

export function fmtTime(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? clean(iso) : d.toISOString().replace("T", " ").slice(0, 19);
}

export function fmtNumber(value, digits = 1) {
  return typeof value === "number" && Number.isFinite(value) ? value.toFixed(digits) : "";
}
