// The data side of the web UI: the key, authenticated requests, the SSE stream parser and the offset helper.
// No DOM here, so each piece can be read (and reasoned about) on its own.

const KEY_NAME = "ragtune.key";

export function storedKey() {
  return sessionStorage.getItem(KEY_NAME);
}

export function storeKey(key) {
  sessionStorage.setItem(KEY_NAME, key);
}

export function forgetKey() {
  sessionStorage.removeItem(KEY_NAME);
}

// An error the server reported ({"error": {"message", "type"}}) or a failed request, with the HTTP status.
export class ApiError extends Error {
  constructor(message, status, type) {
    super(message);
    this.status = status;
    this.type = type || "error";
  }
}

async function errorFrom(response) {
  let message = `${response.status} ${response.statusText}`;
  let type = "http_error";
  try {
    const body = await response.json();
    if (body && body.error) {
      message = body.error.message || message;
      type = body.error.type || type;
    } else if (body && typeof body.detail === "string") {
      message = body.detail;
    }
  } catch (_) {
    // not JSON: keep the status line
  }
  return new ApiError(message, response.status, type);
}

// fetch with the bearer key; rejects with ApiError on a non-2xx answer. `key` overrides the stored one.
export async function request(path, { method = "GET", json, body, key, accept } = {}) {
  const headers = {};
  const token = key ?? storedKey();
  if (token) headers["Authorization"] = `Bearer ${token}`;
  if (accept) headers["Accept"] = accept;
  if (json !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(json);
  }
  let response;
  try {
    response = await fetch(path, { method, headers, body });
  } catch (err) {
    throw new ApiError(`network error: ${err.message}`, 0, "network_error");
  }
  if (!response.ok) throw await errorFrom(response);
  return response;
}

export async function getJSON(path, options) {
  const response = await request(path, options);
  return response.status === 204 ? null : response.json();
}

// Split a text/event-stream body into the `data:` payloads of its events. Keeps the unfinished tail in `state`.
// Returns the complete payloads found in `chunk` (a decoded string).
export function sseEvents(state, chunk) {
  state.buffer = (state.buffer || "") + chunk;
  const events = [];
  // events end with a blank line; accept \n, \r\n and \r line ends (the SSE spec allows all three)
  const parts = state.buffer.split(/\r\n\r\n|\n\n|\r\r/);
  state.buffer = parts.pop();
  for (const part of parts) {
    const data = [];
    for (const line of part.split(/\r\n|\n|\r/)) {
      if (line.startsWith("data:")) data.push(line.slice(line.startsWith("data: ") ? 6 : 5));
    }
    if (data.length) events.push(data.join("\n"));
  }
  return events;
}

// POST /v1/chat/completions with stream: true. Calls onToken(text) for each content delta and returns
// {text, ragtune} once [DONE] arrives (ragtune: the final chunk's citations, abstained, audit_id...).
export async function streamChat(body, { onToken, signal } = {}) {
  const headers = { "Content-Type": "application/json", Accept: "text/event-stream" };
  const token = storedKey();
  if (token) headers["Authorization"] = `Bearer ${token}`;
  let response;
  try {
    response = await fetch("/v1/chat/completions", {
      method: "POST", headers, body: JSON.stringify({ ...body, stream: true }), signal,
    });
  } catch (err) {
    throw new ApiError(`network error: ${err.message}`, 0, "network_error");
  }
  if (!response.ok) throw await errorFrom(response);
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  const state = {};
  let text = "";
  let ragtune = null;
  let done = false;
  const handle = (payload) => {
    if (payload.trim() === "[DONE]") {
      done = true;
      return;
    }
    const chunk = JSON.parse(payload);
    if (chunk.error) throw new ApiError(chunk.error.message || "stream error", 200, chunk.error.type);
    for (const choice of chunk.choices || []) {
      const piece = choice.delta && choice.delta.content;
      if (piece) {
        text += piece;
        if (onToken) onToken(piece);
      }
    }
    if (chunk.ragtune) ragtune = chunk.ragtune;
  };
  while (!done) {
    const { value, done: ended } = await reader.read();
    if (ended) {
      for (const payload of sseEvents(state, decoder.decode() + "\n\n")) handle(payload);
      break;
    }
    for (const payload of sseEvents(state, decoder.decode(value, { stream: true }))) {
      handle(payload);
      if (done) break;
    }
  }
  if (done) reader.cancel().catch(() => {});
  if (!done && !ragtune) throw new ApiError("the answer stream ended early", 200, "stream_error");
  return { text, ragtune };
}

// The server counts offsets in Unicode code points (Python str indices); JavaScript strings index UTF-16 code
// units. Convert a code-point offset into `text` to the UTF-16 index of the same position.
export function utf16Index(text, codePoints) {
  let units = 0;
  let seen = 0;
  while (seen < codePoints && units < text.length) {
    const code = text.charCodeAt(units);
    units += code >= 0xd800 && code <= 0xdbff && units + 1 < text.length ? 2 : 1;
    seen += 1;
  }
  return units;
}
