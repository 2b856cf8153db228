/** Server-sent events: splits a text stream into events (the fields flip sends: id, event, data). */
export interface SseMessage {
  id: string | undefined;
  event: string | undefined;
  data: string;
}

export class SseParser {
  #buffer = '';
  #id: string | undefined;
  #event: string | undefined;
  #data: string[] = [];
  /** Bytes a single unfinished line may hold, at most (a stream gone wrong). */
  static readonly LINE_BYTES_MAX = 1024 * 1024;

  /** Feeds a chunk; returns the events it completed. */
  push(chunk: string): SseMessage[] {
    this.#buffer += chunk;
    if (this.#buffer.length > SseParser.LINE_BYTES_MAX && !this.#buffer.includes('\n'))
      throw new Error('event stream line too long');
    const out: SseMessage[] = [];
    let newline = this.#buffer.search(/\r\n|\n|\r/);
    while (newline >= 0) {
      const line = this.#buffer.slice(0, newline);
      const skip = this.#buffer.startsWith('\r\n', newline) ? 2 : 1;
      this.#buffer = this.#buffer.slice(newline + skip);
      this.#line(line, out);
      newline = this.#buffer.search(/\r\n|\n|\r/);
    }
    return out;
  }

  #line(line: string, out: SseMessage[]): void {
    if (line === '') {
      if (this.#data.length > 0) out.push({ id: this.#id, event: this.#event, data: this.#data.join('\n') });
      this.#event = undefined;
      this.#data = [];
      return;
    }
    if (line.startsWith(':')) return;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') this.#data.push(value);
    else if (field === 'event') this.#event = value;
    else if (field === 'id') this.#id = value;
  }
}
