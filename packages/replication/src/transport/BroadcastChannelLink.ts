/** The constructor shape of `BroadcastChannel` (global in browsers and Node ≥ 18). */
export type BroadcastChannelImpl = new (name: string) => BroadcastChannel;

/**
 * Frames between tabs of one browser over a `BroadcastChannel`: the same
 * `Docs` frames as on the relay socket, without a handshake or acks (tabs
 * share one storage, so nothing needs to be acknowledged between them). It is
 * a bus: every frame reaches every other tab on the channel, never the sender.
 */
export class BroadcastChannelLink {
  /** Called with each frame another tab posted. */
  onFrame: ((frame: Uint8Array) => void) | null = null;

  #channel: BroadcastChannel | null;

  /**
   * Joins channel `name`. Without a `BroadcastChannel` implementation (old
   * runtimes) the link is inert: posts go nowhere, which is just "no other tab".
   */
  constructor(
    name: string,
    ChannelImpl: BroadcastChannelImpl | undefined = globalThis.BroadcastChannel,
  ) {
    if (typeof name !== 'string' || name.length === 0) {
      throw new TypeError('broadcast channel name must be a non-empty string');
    }
    this.#channel = ChannelImpl ? new ChannelImpl(name) : null;
    if (this.#channel) {
      this.#channel.onmessage = (event: MessageEvent) => {
        const data: unknown = event.data;
        // Anything else on the channel is not ours to interpret.
        if (data instanceof Uint8Array) this.onFrame?.(data);
        else if (data instanceof ArrayBuffer) this.onFrame?.(new Uint8Array(data));
      };
    }
  }

  /** True when frames can actually reach other tabs. */
  get active(): boolean {
    return this.#channel !== null;
  }

  post(frame: Uint8Array): void {
    this.#channel?.postMessage(frame);
  }

  close(): void {
    if (!this.#channel) return;
    this.#channel.onmessage = null;
    this.#channel.close();
    this.#channel = null;
  }
}
