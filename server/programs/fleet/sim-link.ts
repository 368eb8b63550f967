import { TransportError, type ByteResponse, type Transport, type TransportResponse } from '../agent/ports.js';

/**
 * A device's network, for the simulator: wraps the real HTTP transport and
 * can drop after a given number of requests (the device goes offline in the
 * middle of whatever it was doing) until restored. Every POST body is shown
 * to `onPost` first, so the simulator keeps its own ledger of the reports
 * each device generated, delivered or not.
 */
export class SimLink implements Transport {
  private budget = Number.POSITIVE_INFINITY;
  requests = 0;

  constructor(
    private readonly inner: Transport,
    private readonly onPost?: (path: string, body: unknown) => void,
  ) {}

  /** The network fails every request after the next `requests` ones, until restore(). */
  dropAfter(requests: number): void {
    this.budget = requests;
  }

  restore(): void {
    this.budget = Number.POSITIVE_INFINITY;
  }

  get offline(): boolean {
    return this.budget <= 0;
  }

  private admit(method: string, path: string): void {
    if (this.budget <= 0) throw new TransportError(`${method} ${path}: simulated network outage`);
    this.budget -= 1;
    this.requests += 1;
  }

  async get(path: string, headers?: Record<string, string>): Promise<TransportResponse> {
    this.admit('GET', path);
    return this.inner.get(path, headers);
  }

  async post(path: string, body: unknown): Promise<TransportResponse> {
    this.onPost?.(path, body);
    this.admit('POST', path);
    return this.inner.post(path, body);
  }

  async stream(url: string, headers?: Record<string, string>): Promise<ByteResponse> {
    this.admit('GET', url);
    return this.inner.stream(url, headers);
  }
}
