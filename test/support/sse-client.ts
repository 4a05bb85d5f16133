import { waitFor } from './wait-for';

export interface SseMessage {
  type: string;
  data: unknown;
  id?: string;
}

/**
 * A Server-Sent Events reader on fetch (an EventSource cannot send the Authorization header): it collects every
 * message as it arrives, and close() hangs up the way a browser tab that goes away does.
 */
export class SseClient {
  readonly messages: SseMessage[] = [];
  /** Everything the stream carried, as text. */
  raw = '';
  private ended = false;

  private constructor(
    readonly response: Response,
    private readonly controller: AbortController,
  ) {}

  /** Opens the stream; resolves once the status and headers are in (the server is then subscribed). */
  static async open(url: string, apiKey: string): Promise<SseClient> {
    const controller = new AbortController();
    const response = await fetch(url, {
      headers: { authorization: `Bearer ${apiKey}`, accept: 'text/event-stream' },
      signal: controller.signal,
    });
    const client = new SseClient(response, controller);
    if (response.ok && response.body) void client.pump(response.body);
    return client;
  }

  /** Waits until a message matching `predicate` has arrived, and returns it. */
  next(predicate: (message: SseMessage) => boolean, description: string, timeoutMs = 10_000): Promise<SseMessage> {
    return waitFor(() => this.messages.find(predicate), { timeoutMs, description });
  }

  get isEnded(): boolean {
    return this.ended;
  }

  close(): void {
    this.controller.abort();
  }

  private async pump(body: ReadableStream<Uint8Array>): Promise<void> {
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
        const text = decoder.decode(chunk, { stream: true });
        this.raw += text;
        buffer += text;
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          this.parse(buffer.slice(0, end));
          buffer = buffer.slice(end + 2);
        }
      }
    } catch {
      // Aborted by close(), or the server went away: either way the stream is over.
    } finally {
      this.ended = true;
    }
  }

  private parse(block: string): void {
    let type = 'message';
    let id: string | undefined;
    const data: string[] = [];
    for (const line of block.split('\n')) {
      if (line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (field === 'event') type = value;
      else if (field === 'data') data.push(value);
      else if (field === 'id') id = value;
    }
    if (data.length === 0) return;
    const text = data.join('\n');
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // Not JSON: keep the text.
    }
    this.messages.push({ type, data: parsed, id });
  }
}
