import { LineSplitter } from './engine-event.parser';

/** One line of the engine's pull stream (POST /images/create), as Docker 20.10 writes it. */
export interface PullStreamMessage {
  /** `Pulling fs layer`, `Downloading`, `Download complete`, `Already exists`, `Digest: sha256:...`, `Status: ...` */
  status?: string;
  /** The layer (12 hex digits) a layer line is about; the tag on the first line. */
  id?: string;
  progressDetail?: { current?: number; total?: number };
  /** Set on a failure: the pull is over, even though the HTTP status was 200. */
  error?: string;
  errorDetail?: { message?: string; code?: number };
}

/** Where a pull stands, summed over its layers. Bytes are download bytes (compressed), not extraction. */
export interface PullProgress {
  /** Layers the image has (those already on the engine included), as far as the stream has named them. */
  layersTotal: number;
  /** Layers pulled to the end (downloaded and extracted), or already on the engine. */
  layersDone: number;
  /** Bytes downloaded so far. */
  bytesDone: number;
  /** Bytes to download, once the size of every layer to download is known; null before. */
  bytesTotal: number | null;
}

type LayerPhase = 'waiting' | 'downloading' | 'downloaded' | 'done';

interface LayerState {
  phase: LayerPhase;
  current: number;
  total: number | null;
  /** Already on the engine: nothing to download. */
  local: boolean;
}

/**
 * Reads the pull stream: cuts it into JSON lines (chunks end anywhere), keeps each layer's progress, and remembers
 * the first error and the digest line. Lines that are not JSON are kept as errors too: the engine never sends them
 * when all is well.
 */
export class PullStreamReader {
  private readonly splitter = new LineSplitter();
  private readonly layers = new Map<string, LayerState>();
  private failure: string | null = null;
  private digestSeen: string | null = null;
  private lastStatus: string | null = null;

  /** Feeds a chunk; returns the messages it completed. */
  push(chunk: Buffer | string): PullStreamMessage[] {
    const lines = this.splitter.push(typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk);
    return lines.map((line) => this.read(line)).filter((message): message is PullStreamMessage => message !== null);
  }

  /** The engine closed the stream: a last line without a newline still counts. */
  end(): PullStreamMessage[] {
    return this.splitter.pendingBytes > 0 ? this.push('\n') : [];
  }

  /** The stream's own error message (`error` or `errorDetail.message`), the first one if several came. */
  get error(): string | null {
    return this.failure;
  }

  /** `sha256:...` from the `Digest:` line, when the engine wrote one. */
  get digest(): string | null {
    return this.digestSeen;
  }

  /** The last status line (`Status: Downloaded newer image for ...`, `Status: Image is up to date for ...`). */
  get status(): string | null {
    return this.lastStatus;
  }

  progress(): PullProgress {
    let layersDone = 0;
    let bytesDone = 0;
    let bytesTotal: number | null = 0;
    for (const layer of this.layers.values()) {
      if (layer.phase === 'done') layersDone += 1;
      if (layer.local) continue;
      bytesDone +=
        layer.phase === 'downloaded' || layer.phase === 'done' ? (layer.total ?? layer.current) : layer.current;
      if (layer.total === null) bytesTotal = null;
      else if (bytesTotal !== null) bytesTotal += layer.total;
    }
    return { layersTotal: this.layers.size, layersDone, bytesDone, bytesTotal };
  }

  private read(line: string): PullStreamMessage | null {
    const text = line.trim();
    if (text === '') return null;
    let message: PullStreamMessage;
    try {
      message = JSON.parse(text) as PullStreamMessage;
    } catch {
      this.failure ??= `unreadable pull stream line: ${text.slice(0, 300)}`;
      return null;
    }
    if (!message || typeof message !== 'object') return null;
    const error = message.errorDetail?.message || message.error;
    if (typeof error === 'string' && error !== '') {
      this.failure ??= error;
      return message;
    }
    if (typeof message.status === 'string') this.apply(message.status, message);
    return message;
  }

  private apply(status: string, message: PullStreamMessage): void {
    const digest = /^Digest: (sha256:[a-f0-9]{64})/.exec(status);
    if (digest) this.digestSeen = digest[1];
    if (status.startsWith('Status: ')) this.lastStatus = status;
    const id = message.id;
    // Layer lines carry a 12-digit layer id; the first line's id is the tag, and a few lines have none.
    if (!id || !/^[a-f0-9]{12}$/.test(id)) return;
    const layer = this.layers.get(id) ?? { phase: 'waiting', current: 0, total: null, local: false };
    this.layers.set(id, layer);
    const detail = message.progressDetail ?? {};
    switch (status) {
      case 'Already exists':
        layer.local = true;
        layer.phase = 'done';
        break;
      case 'Downloading':
        layer.phase = 'downloading';
        if (typeof detail.current === 'number') layer.current = detail.current;
        if (typeof detail.total === 'number' && detail.total > 0) layer.total = detail.total;
        break;
      case 'Verifying Checksum':
      case 'Download complete':
        layer.phase = 'downloaded';
        break;
      case 'Extracting':
        if (layer.phase !== 'done') layer.phase = 'downloaded';
        if (layer.total === null && typeof detail.total === 'number' && detail.total > 0) layer.total = detail.total;
        break;
      case 'Pull complete':
        layer.phase = 'done';
        break;
      default:
        // Pulling fs layer, Waiting, Retrying in N seconds...: nothing to count.
        break;
    }
  }
}
