// A parser of the Server-Sent Events wire format (text/event-stream), fed text as it arrives.
// EventSource cannot send the Authorization header, so the worker reads the stream with fetch.

export class SseParser {
  constructor() {
    this.buffer = "";
    this.reset();
  }

  reset() {
    this.kind = "";
    this.data = [];
  }

  /** Feed a chunk of text; returns the complete events in it: [{ type, data }]. */
  push(text) {
    this.buffer += text;
    const events = [];
    let end;
    while ((end = this.buffer.search(/\r\n|\r|\n/)) !== -1) {
      const line = this.buffer.slice(0, end);
      const newline = this.buffer.startsWith("\r\n", end) ? 2 : 1;
      if (this.buffer[end] === "\r" && end + 1 === this.buffer.length) break; // maybe "\r\n" split
      this.buffer = this.buffer.slice(end + newline);
      const event = this.line(line);
      if (event) events.push(event);
    }
    return events;
  }

  line(line) {
    if (line === "") {
      const event = this.data.length ? { type: this.kind || "message", data: this.data.join("\n") } : null;
      this.reset();
      return event;
    }
    if (line.startsWith(":")) return null; // a comment: the server's keep-alive
    const colon = line.indexOf(":");
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "event") this.kind = value;
    else if (field === "data") this.data.push(value);
    return null;
  }
}
