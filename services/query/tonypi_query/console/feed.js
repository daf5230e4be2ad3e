// The live feed, read with fetch() streaming: EventSource cannot send the Authorization
// header the API needs. Resumes with Last-Event-ID after a drop (no gap, no duplicate), and
// hands records to subscribers in one batch per animation frame.
import { BASE, authHeaders } from "./api.js";

const MAX_TIMES = 600; // recent per-frame update durations kept for the measurement

export const stats = { records: 0, frames: 0, times: [], reconnects: 0 };

export class Feed {
  constructor(onState = () => {}, onGap = () => {}) {
    this.onState = onState;
    this.onGap = onGap;
    this.subscribers = new Set();
    this.pending = [];
    this.scheduled = false;
    this.lastId = null;
    this.retry = 1000;
    this.stopped = true;
  }

  subscribe(fn) {
    this.subscribers.add(fn);
    return () => this.subscribers.delete(fn);
  }

  start() {
    if (!this.stopped) return;
    this.stopped = false;
    this.loop();
  }

  stop() {
    this.stopped = true;
    if (this.controller) this.controller.abort();
  }

  async loop() {
    while (!this.stopped) {
      this.controller = new AbortController();
      try {
        const headers = authHeaders({ Accept: "text/event-stream" });
        if (this.lastId !== null) headers["Last-Event-ID"] = String(this.lastId);
        const response = await fetch(`${BASE}/events`, {
          headers,
          signal: this.controller.signal,
          cache: "no-store",
        });
        if (response.status === 401) {
          // The token was revoked or expired: retrying cannot help; sign in again.
          this.stopped = true;
          this.onState("signed out");
          return;
        }
        if (!response.ok) throw new Error(`the live feed answered ${response.status}`);
        this.onState("live");
        await this.read(response.body);
      } catch (error) {
        if (this.stopped) break;
      }
      if (this.stopped) break;
      stats.reconnects += 1;
      this.onState("reconnecting");
      await new Promise((resolve) => setTimeout(resolve, this.retry));
    }
    this.onState("stopped");
  }

  async read(body) {
    const reader = body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    let record = { data: [] };
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += value;
      let end;
      while ((end = buffer.indexOf("\n")) >= 0) {
        let line = buffer.slice(0, end);
        buffer = buffer.slice(end + 1);
        if (line.endsWith("\r")) line = line.slice(0, -1);
        if (line === "") {
          // An id-only block (the stream's start) moves the resume point; no record.
          if (record.data.length) this.dispatch(record);
          else if (record.id !== undefined) this.lastId = record.id;
          record = { data: [] };
          continue;
        }
        if (line.startsWith(":")) continue; // heartbeat
        const colon = line.indexOf(":");
        const field = colon < 0 ? line : line.slice(0, colon);
        let text = colon < 0 ? "" : line.slice(colon + 1);
        if (text.startsWith(" ")) text = text.slice(1);
        if (field === "data") record.data.push(text);
        else if (field === "id") record.id = text;
        else if (field === "event") record.event = text;
        else if (field === "retry" && /^\d+$/.test(text)) this.retry = Number(text);
      }
    }
  }

  dispatch(record) {
    if (record.id !== undefined) this.lastId = record.id;
    let data;
    try {
      data = JSON.parse(record.data.join("\n"));
    } catch {
      return; // not ours to show
    }
    if (record.event === "gap") {
      this.onGap(data); // records we can no longer get: the pages read the tables again
      return;
    }
    this.pending.push({ id: record.id, event: record.event || "message", data });
    if (!this.scheduled) {
      this.scheduled = true;
      requestAnimationFrame(() => this.flush());
    }
  }

  flush() {
    this.scheduled = false;
    const batch = this.pending;
    this.pending = [];
    const started = performance.now();
    for (const fn of this.subscribers) {
      try {
        fn(batch);
      } catch (error) {
        console.error("live update failed", error);
      }
    }
    stats.records += batch.length;
    stats.frames += 1;
    stats.times.push(performance.now() - started);
    if (stats.times.length > MAX_TIMES) stats.times.shift();
  }
}
